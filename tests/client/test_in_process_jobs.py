"""In-process jobs: queued one at a time, cancellable, gone with the client."""

from __future__ import annotations

import pytest
from aalps.client import Client, DeadlineExceededError, InvalidArgumentError, JobState

from tests.client.conftest import long_request


def test_a_queued_job_is_cancelled_before_it_starts() -> None:
    with Client.in_process() as client:
        running = client.submit(long_request())
        queued = client.submit("k_task_routing")
        assert client.get_job(queued.job_id).state is JobState.PENDING
        assert client.cancel(queued.job_id).state is JobState.CANCELLED
        client.cancel(running.job_id)
        assert list(client.watch(running.job_id, timeout=60))[-1].state is JobState.CANCELLED
        assert client.get_job(queued.job_id).result is None


def test_close_cancels_unfinished_jobs() -> None:
    client = Client.in_process()
    job = client.submit(long_request())
    client.close()
    final = list(client.watch(job.job_id, timeout=60))[-1]
    assert final.state is JobState.CANCELLED


def test_watch_deadline() -> None:
    with Client.in_process() as client:
        job = client.submit(long_request())
        with pytest.raises(DeadlineExceededError):
            for _ in client.watch(job.job_id, timeout=0.5):
                pass
        client.cancel(job.job_id)


def test_bad_page_token_and_state() -> None:
    with Client.in_process() as client:
        with pytest.raises(InvalidArgumentError, match="state"):
            next(client.list_jobs(state="DONE"))
        from aalps.proto.aalps.v1 import aalps_pb2

        with pytest.raises(InvalidArgumentError, match="page_token"):
            client._backend.list_jobs(aalps_pb2.ListJobsRequest(page_token="x"), timeout=None)
