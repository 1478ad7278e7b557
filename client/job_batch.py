"""A batch run as jobs: every request a job that any replica sharing the store may claim.

BatchOptimize runs a whole batch in the search processes of the one server that received
it. Submitted as jobs instead, the items are leased units of work in the shared job store,
so every live replica takes its share (and a replica that dies mid-batch loses nothing:
its jobs are taken over). The submitter keeps at most ``window`` jobs active, under the
server's per-owner quota (``max_active_jobs``), and waits and retries when the quota is
reached anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from aalps.client.errors import (
    AalpsClientError,
    ResourceExhaustedError,
    status_from_error,
    strip_field_prefix,
)
from aalps.client.results import BatchItem, JobInfo, batch_item_from_proto
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.rpc import code_pb2, status_pb2

__all__ = ["DEFAULT_WINDOW", "run_as_jobs"]

#: Jobs kept active at once by default (the server's default quota is 100 per owner).
DEFAULT_WINDOW = 64


def run_as_jobs(
    messages: Sequence[pb.OptimizeRequest | AalpsClientError],
    submit: Callable[[pb.OptimizeRequest], JobInfo],
    get_job: Callable[[str], JobInfo],
    *,
    window: int = DEFAULT_WINDOW,
    poll_seconds: float = 0.2,
) -> Iterator[BatchItem]:
    """Submit each request as a job, at most ``window`` active; yield each outcome as its
    job ends (``index`` = position in ``messages``). An entry that is already an error
    (an unreadable request) and a refused submission are yielded as that item's error."""
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    waiting = list(enumerate(messages))
    waiting.reverse()  # pop() from the end submits in input order
    active: dict[str, int] = {}
    backoff = poll_seconds
    while waiting or active:
        while waiting and len(active) < window:
            index, message = waiting.pop()
            if isinstance(message, AalpsClientError):
                yield _failed(index, message)
                continue
            try:
                active[submit(message).job_id] = index
            except ResourceExhaustedError:
                waiting.append((index, message))  # the quota: retry once a job has ended
                break
            except AalpsClientError as error:
                yield _failed(index, error, strip="request.")
        ended = False
        for job_id, index in list(active.items()):
            job = get_job(job_id)
            if job.done:
                del active[job_id]
                ended = True
                yield _outcome(index, job)
        if not ended:
            time.sleep(backoff)
            backoff = min(backoff * 1.5, 2.0)
        else:
            backoff = poll_seconds


def _failed(index: int, error: AalpsClientError, strip: str = "") -> BatchItem:
    status = status_from_error(error)
    if strip:
        strip_field_prefix(status, strip)
    return batch_item_from_proto(pb.BatchOptimizeResponse(index=index, error=status))


def _outcome(index: int, job: JobInfo) -> BatchItem:
    message = job.message
    if message.HasField("result") and message.state == pb.SUCCEEDED:
        return batch_item_from_proto(pb.BatchOptimizeResponse(index=index, result=message.result))
    if message.HasField("error"):
        error = message.error
    else:
        state = pb.JobState.Name(message.state)
        error = status_pb2.Status(
            code=code_pb2.CANCELLED if message.state == pb.CANCELLED else code_pb2.UNKNOWN,
            message=f"job {job.job_id} ended {state} without a result",
        )
    return batch_item_from_proto(pb.BatchOptimizeResponse(index=index, error=error))
