"""The job-batch submitter against a fake job service: window, quota retries, outcomes."""

from __future__ import annotations

import pytest
from aalps.client.errors import InvalidArgumentError, ResourceExhaustedError
from aalps.client.job_batch import run_as_jobs
from aalps.client.results import JobInfo, job_from_proto
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.rpc import code_pb2, status_pb2


class FakeJobs:
    """Jobs that end after ``polls`` GetJob calls; a quota of ``quota`` active jobs."""

    def __init__(self, quota: int, polls: int = 2, refuse: frozenset[int] = frozenset()) -> None:
        self.quota, self.polls, self.refuse = quota, polls, refuse
        self.jobs: dict[str, list[int]] = {}  # id -> [seed, polls left]
        self.active_high = 0
        self.quota_hits = 0

    def active(self) -> int:
        return sum(left > 0 for _, left in self.jobs.values())

    def submit(self, message: pb.OptimizeRequest) -> JobInfo:
        seed = message.search.seed
        if seed in self.refuse:
            raise InvalidArgumentError([("request.search.seed", "refused")])
        if self.active() >= self.quota:
            self.quota_hits += 1
            raise ResourceExhaustedError("too many active jobs")
        job_id = f"job{len(self.jobs)}"
        self.jobs[job_id] = [seed, self.polls]
        self.active_high = max(self.active_high, self.active())
        return job_from_proto(pb.Job(job_id=job_id, state=pb.PENDING))

    def get_job(self, job_id: str) -> JobInfo:
        entry = self.jobs[job_id]
        entry[1] -= 1
        if entry[1] > 0:
            return job_from_proto(pb.Job(job_id=job_id, state=pb.RUNNING))
        seed = entry[0]
        if seed % 5 == 4:
            error = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message="no plan")
            return job_from_proto(pb.Job(job_id=job_id, state=pb.FAILED, error=error))
        result = pb.OptimizeResponse()
        result.plan.expected_cost = float(seed)
        return job_from_proto(pb.Job(job_id=job_id, state=pb.SUCCEEDED, result=result))


def _requests(n: int) -> list[pb.OptimizeRequest | InvalidArgumentError]:
    return [pb.OptimizeRequest(search=pb.SearchOptions(seed=i)) for i in range(n)]


@pytest.mark.parametrize(("window", "quota"), [(3, 10), (10, 4), (1, 1)])
def test_every_request_ends_once_with_its_own_outcome(window: int, quota: int) -> None:
    fake = FakeJobs(quota)
    items = list(
        run_as_jobs(_requests(17), fake.submit, fake.get_job, window=window, poll_seconds=0)
    )
    assert sorted(i.index for i in items) == list(range(17))
    for item in items:
        if item.index % 5 == 4:
            assert item.error is not None and item.error.message == "no plan"
        else:
            assert item.report is not None
            assert item.report.plan.expected_cost == item.index
    assert fake.active_high <= min(window, quota)
    assert len(fake.jobs) == 17  # a refused submission (quota) is retried, not lost
    assert (fake.quota_hits > 0) == (window > quota)


def test_unreadable_and_refused_requests_are_their_items_errors() -> None:
    fake = FakeJobs(quota=5, refuse=frozenset({2}))
    requests = _requests(4)
    requests[1] = InvalidArgumentError([("graph", "missing")])
    items = {i.index: i for i in run_as_jobs(requests, fake.submit, fake.get_job, poll_seconds=0)}
    assert sorted(items) == [0, 1, 2, 3]
    assert items[1].error is not None and "graph" in str(items[1].error)
    refused = items[2].error
    assert isinstance(refused, InvalidArgumentError)
    assert [v.field for v in refused.violations] == ["search.seed"]  # within the request
    assert items[0].report is not None and items[3].report is not None
    assert len(fake.jobs) == 2
