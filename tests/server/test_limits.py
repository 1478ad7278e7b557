"""Issue 8: no request can pin, crash or slip past the service (the service's limits).

One real server on a loopback port, with small limits so that each is reached in seconds:
validation is killed past 1 s (a test-only hook in the validation processes makes marked
requests spin forever), a search call gets 3 s, a job attempt 10 s, an owner 6 active jobs.
Each test calls as its own owner (bearer tokens), so quotas and queues do not mix.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import grpc
import pytest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.server.command import add_arguments, config_from_args
from aalps.server.config import ServerConfig
from aalps.server.job_queue import FairQueue
from aalps.server.limits import Limits
from aalps.server.status import SEARCH_LIMIT_REASON
from aalps.server.store import JobRecord, JobState
from aalps.server.validation import ValidationPool
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.server.conftest import ServerThread, example_request, slow_request, wait_for
from tests.server.test_bad_input import bad_request_fields
from tests.server.validation_hooks import PIN_NAME, pin_marked_requests

TOKENS_ENV = "AALPS_TEST_LIMITS_TOKENS"
OWNERS = ("pin", "search", "quota", "fair", "caps")
LIMITS = {
    "validation_seconds": 1.0,
    "max_search_seconds": 3.0,
    "max_job_seconds": 10.0,
    "max_active_jobs": 6,
    "max_trial_tasks": 500_000,
}


class _LimitedServer(ServerThread):
    """A ServerThread whose validation processes carry the pinning hook."""

    async def _start(self):  # type: ignore[no-untyped-def]
        from aalps.server.app import make_server

        validation = ValidationPool(self.config.validation_workers, hook=pin_marked_requests)
        server = make_server(self.config, validation=validation)
        await server.start()
        return server


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    os.environ[TOKENS_ENV] = ",".join(f"{name}: token-{name}" for name in OWNERS)
    storage = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'aalps.db'}"
    config = ServerConfig(
        port=0,
        storage=storage,
        workers=2,
        grace_seconds=1.0,
        auth_token_env=TOKENS_ENV,
        **LIMITS,  # type: ignore[arg-type]
    )
    server = _LimitedServer(config)
    yield server
    server.stop()
    os.environ.pop(TOKENS_ENV, None)


@pytest.fixture(scope="module")
def limited_channel(limited: ServerThread) -> Iterator[grpc.Channel]:
    with limited.channel() as channel:
        yield channel


class Caller:
    """A stub that sends one owner's bearer token with every call."""

    def __init__(self, channel: grpc.Channel, owner: str) -> None:
        self.stub = aalps_pb2_grpc.AalpsServiceStub(channel)
        self.metadata = (("authorization", f"Bearer token-{owner}"),)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        method = getattr(self.stub, name)
        return lambda request, **kw: method(request, metadata=self.metadata, **kw)


def _pinned() -> pb.OptimizeRequest:
    request = example_request("code_debugging")
    request.graph.name = PIN_NAME
    return request


def _small(n_trials: int = 8) -> pb.OptimizeRequest:
    request = example_request("code_debugging")
    request.search.n_trials = n_trials
    return request


def _trivial_seconds(caller: Caller) -> float:
    started = time.monotonic()
    response = caller.Optimize(_small(), timeout=30)
    assert response.plan.ByteSize() > 0
    return time.monotonic() - started


# --- validation ---------------------------------------------------------------------------


def test_pinned_validation_is_killed_and_named(limited_channel: grpc.Channel) -> None:
    caller = Caller(limited_channel, "pin")
    for call, request, field in (
        (caller.Optimize, _pinned(), "request"),
        (caller.SubmitJob, pb.SubmitJobRequest(request=_pinned()), "request"),
        (caller.AnalyzePlan, pb.AnalyzePlanRequest(request=_pinned()), "request"),
    ):
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            call(request, timeout=30)
        # the limit, plus a restarted validation process's start-up when both were killed
        assert time.monotonic() - started < 20
        assert bad_request_fields(caught.value) == [field]
        assert "validation did not finish within 1 s" in caught.value.details()
    assert _trivial_seconds(caller) < 5


def test_two_pinned_calls_leave_the_server_answering(limited_channel: grpc.Channel) -> None:
    """Both validation processes pinned at once (the default is two): killed, replaced."""
    caller = Caller(limited_channel, "pin")
    batch = pb.BatchOptimizeRequest(requests=[_pinned(), _pinned(), _small()])
    entries = {e.index: e for e in caller.BatchOptimize(batch, timeout=60)}
    for index in (0, 1):
        assert entries[index].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "validation did not finish" in entries[index].error.message
        assert f"requests[{index}]" in entries[index].error.message
    assert entries[2].HasField("result")
    assert _trivial_seconds(caller) < 5


# --- search time ----------------------------------------------------------------------------


def _search_limit_details(error: grpc.RpcError) -> tuple[dict[str, str], pb.OptimizeResponse]:
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error.details()
    assert "max_search_seconds" in error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    info, partial = {}, pb.OptimizeResponse()
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            message = error_details_pb2.ErrorInfo()
            detail.Unpack(message)
            assert message.reason == SEARCH_LIMIT_REASON
            info = dict(message.metadata)
        elif detail.Is(pb.OptimizeResponse.DESCRIPTOR):
            detail.Unpack(partial)
    return info, partial


@pytest.mark.parametrize("timeout", [None, 60.0], ids=["no deadline", "later deadline"])
def test_search_limit_answers_with_the_partial_plan(
    limited_channel: grpc.Channel, timeout: float | None
) -> None:
    caller = Caller(limited_channel, "search")
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        caller.Optimize(slow_request(n_trials=100_000), timeout=timeout)
    assert time.monotonic() - started < LIMITS["max_search_seconds"] + 8
    info, partial = _search_limit_details(caught.value)
    assert info == {"limit": "max_search_seconds"}
    assert partial.plan.ByteSize() > 0 and not partial.stats.exhaustive


def test_search_limit_in_a_batch_entry(limited_channel: grpc.Channel) -> None:
    caller = Caller(limited_channel, "search")
    batch = pb.BatchOptimizeRequest(requests=[slow_request(n_trials=100_000), _small()])
    entries = {e.index: e for e in caller.BatchOptimize(batch, timeout=60)}
    assert entries[0].error.code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert "max_search_seconds" in entries[0].error.message
    packed = [d for d in entries[0].error.details if d.Is(pb.OptimizeResponse.DESCRIPTOR)]
    assert packed, "the partial plan travels in the entry's status details"
    assert entries[1].HasField("result")


def test_trials_times_tasks_is_capped(limited_channel: grpc.Channel) -> None:
    caller = Caller(limited_channel, "caps")
    with pytest.raises(grpc.RpcError) as caught:
        caller.Optimize(slow_request(tasks=6, n_trials=100_000), timeout=30)
    assert bad_request_fields(caught.value) == ["search.n_trials"]
    assert "max_trial_tasks" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        job = pb.SubmitJobRequest(request=slow_request(tasks=6, n_trials=100_000))
        caller.SubmitJob(job, timeout=30)
    assert bad_request_fields(caught.value) == ["request.search.n_trials"]


# --- jobs -----------------------------------------------------------------------------------


def _final(caller: Caller, job_id: str, timeout: float) -> pb.Job:
    def done() -> pb.Job | None:
        job = caller.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10).job
        return job if job.state in (pb.SUCCEEDED, pb.FAILED, pb.CANCELLED) else None

    return wait_for(done, timeout, interval=0.2)


def test_owner_quota_is_resource_exhausted(limited_channel: grpc.Channel) -> None:
    caller = Caller(limited_channel, "quota")
    long = pb.SubmitJobRequest(request=slow_request(n_trials=100_000))
    ids = [caller.SubmitJob(long, timeout=30).job.job_id for _ in range(LIMITS["max_active_jobs"])]
    try:
        with pytest.raises(grpc.RpcError) as caught:
            caller.SubmitJob(long, timeout=30)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_active_jobs" in caught.value.details()
        status = rpc_status.from_call(caught.value)
        assert status is not None
        assert any(d.Is(error_details_pb2.QuotaFailure.DESCRIPTOR) for d in status.details)
        other = Caller(limited_channel, "caps")  # another owner is not affected
        assert other.ListJobs(pb.ListJobsRequest(), timeout=10) is not None
    finally:
        for job_id in ids:
            caller.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=10)
        for job_id in ids:
            _final(caller, job_id, 30)
    job = caller.SubmitJob(pb.SubmitJobRequest(request=_small()), timeout=30).job
    _final(caller, job.job_id, 60)


def test_small_jobs_pass_a_long_one_which_then_hits_its_limit(
    limited_channel: grpc.Channel,
) -> None:
    caller = Caller(limited_channel, "fair")
    submitted = time.monotonic()
    long = caller.SubmitJob(pb.SubmitJobRequest(request=slow_request(n_trials=100_000)), timeout=30)
    small = [
        caller.SubmitJob(pb.SubmitJobRequest(request=_small(n_trials=8 + i)), timeout=30).job.job_id
        for i in range(5)
    ]
    finished = [_final(caller, job_id, 60) for job_id in small]
    assert all(job.state == pb.SUCCEEDED for job in finished)
    failed = _final(caller, long.job.job_id, 60)
    # the last update of a final job is when it ended: every small one ended first
    ended_last = max(job.update_time.ToDatetime() for job in finished)
    assert ended_last < failed.update_time.ToDatetime(), "a small job waited for the long one"
    assert failed.state == pb.FAILED
    assert failed.error.code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert "max_job_seconds" in failed.error.message
    assert failed.result.plan.ByteSize() > 0, "the best plan found is kept"
    assert time.monotonic() - submitted < LIMITS["max_job_seconds"] + 30


# --- pieces -----------------------------------------------------------------------------------


def _record(job_id: str, owner: str) -> JobRecord:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return JobRecord(job_id, owner, JobState.PENDING, now, now, "{}")


def test_fair_queue_takes_owners_in_turn_and_small_first() -> None:
    queue = FairQueue()
    queue.push(_record("a-big", "a"), 1_000_000)
    queue.push(_record("a-small", "a"), 10)
    queue.push(_record("b-1", "b"), 500)
    queue.push(_record("b-2", "b"), 400)
    order = []
    while (pending := queue.pop()) is not None:
        order.append(pending.job.job_id)
    assert order == ["a-small", "b-2", "a-big", "b-1"]
    queue.push(_record("huge", "c"), 10**9)
    assert queue.pop(max_size=1000) is None and "huge" in queue
    assert queue.remove("huge") and len(queue) == 0


def test_limits_are_flags_with_defaults_in_help() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = parser.format_help()
    for flag, default in (
        ("--validation-seconds", "10"),
        ("--max-search-seconds", "300"),
        ("--max-job-seconds", "3,600"),
        ("--max-trial-tasks", "5,000,000"),
        ("--max-active-jobs", "100"),
        ("--small-job-size", "10,000"),
    ):
        assert flag in text and f"(default {default})" in " ".join(text.split())
    config = config_from_args(parser.parse_args(["--max-search-seconds", "5"]))
    assert config.limits == Limits(
        config.max_tasks, config.max_models, config.max_trials, max_search_seconds=5.0
    )
    with pytest.raises(ValueError):
        ServerConfig(validation_seconds=0)
