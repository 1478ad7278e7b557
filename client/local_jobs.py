"""In-memory jobs for the in-process client: the job API without a server.

Jobs run one at a time, in submission order, on one daemon thread (searches are CPU-bound:
running several at once in threads would only interleave them). They are kept as ``Job``
messages so that the client builds :class:`~aalps.client.results.JobInfo` from them exactly as
from a server's. Nothing is persisted: jobs end with the client (``close`` cancels them).
For persisted, restartable jobs run ``aalps serve`` and use ``Client.remote``.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aalps.client.errors import (
    AalpsClientError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    internal_error,
    status_from_error,
)
from aalps.client.results import Progress
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.protobuf.message import Message

Runner = Callable[
    [pb.OptimizeRequest, Callable[[Progress], None] | None, Callable[[], bool]],
    pb.OptimizeResponse,
]
#: Validates a request (raising InvalidArgumentError); returns the domain request.
Validator = Callable[[pb.OptimizeRequest], Any]

_FINAL = (pb.SUCCEEDED, pb.FAILED, pb.CANCELLED)
#: Page size when the caller asks for 0 (the server's default), and the cap.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass
class _Entry:
    job: pb.Job
    order: int
    version: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


class LocalJobs:
    """A job table guarded by one condition variable, and the thread that runs the jobs."""

    def __init__(self, run: Runner, validate: Validator) -> None:
        self._run = run
        self._validate = validate
        self._jobs: dict[str, _Entry] = {}
        self._changed = threading.Condition()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._counter = itertools.count()

    # -- mutations (all under self._changed) ------------------------------------------

    def _update(self, entry: _Entry, **fields: Any) -> None:
        with self._changed:
            for name, value in fields.items():
                if isinstance(value, Message):
                    getattr(entry.job, name).CopyFrom(value)
                else:
                    setattr(entry.job, name, value)
            entry.job.update_time.GetCurrentTime()
            entry.version += 1
            self._changed.notify_all()

    def submit(self, request: pb.OptimizeRequest) -> pb.Job:
        """Validate now (bad input fails the call, as SubmitJob does), then queue the job."""
        domain = self._validate(request)
        job = pb.Job(job_id=uuid.uuid4().hex, state=pb.PENDING, request=request)
        job.n_trials = domain.search.n_trials
        job.create_time.GetCurrentTime()
        job.update_time.CopyFrom(job.create_time)
        with self._changed:
            self._jobs[job.job_id] = _Entry(job, next(self._counter))
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="aalps-local-jobs", daemon=True
                )
                self._worker.start()
        self._queue.put(job.job_id)
        return self._snapshot(job.job_id)

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            entry = self._jobs[job_id]
            if entry.stop.is_set():
                continue
            self._update(entry, state=pb.RUNNING)
            self._execute(entry)

    def _execute(self, entry: _Entry) -> None:
        def progress(update: Progress) -> None:
            self._update(
                entry,
                trials_done=update.trials_done,
                n_trials=update.n_trials,
                best_expected_cost=update.best_expected_cost,
            )

        try:
            result = self._run(entry.job.request, progress, entry.stop.is_set)
        except CancelledError:  # stopped before any feasible plan: cancelled, no result
            self._update(entry, state=pb.CANCELLED)
        except AalpsClientError as error:
            self._update(entry, state=pb.FAILED, error=status_from_error(error))
        except Exception as error:  # a bug must fail the job, not kill the worker
            self._update(entry, state=pb.FAILED, error=status_from_error(internal_error(error)))
        else:
            state = pb.CANCELLED if entry.stop.is_set() else pb.SUCCEEDED
            self._update(
                entry,
                state=state,
                result=result,
                trials_done=max(entry.job.trials_done, result.stats.trials),
            )

    def cancel(self, job_id: str) -> pb.Job:
        """Stop a job: a pending one is CANCELLED at once, a running one at its next trial."""
        entry = self._entry(job_id)
        with self._changed:
            if entry.job.state in _FINAL:
                state = pb.JobState.Name(entry.job.state)
                raise FailedPreconditionError(f"job {job_id!r} has already finished ({state})")
            entry.stop.set()
            if entry.job.state == pb.PENDING:
                self._update(entry, state=pb.CANCELLED)
        return self._snapshot(job_id)

    def close(self) -> None:
        """Cancel every unfinished job and let the worker thread end."""
        with self._changed:
            unfinished = [j for j, e in self._jobs.items() if e.job.state not in _FINAL]
        for job_id in unfinished:
            self.cancel(job_id)
        self._queue.put(None)

    # -- reads -------------------------------------------------------------------------

    def _entry(self, job_id: str) -> _Entry:
        entry = self._jobs.get(job_id)
        if entry is None:
            raise NotFoundError(f"no job {job_id!r}")
        return entry

    def _snapshot(self, job_id: str, *, with_request: bool = True) -> pb.Job:
        with self._changed:
            job = pb.Job()
            job.CopyFrom(self._entry(job_id).job)
        if not with_request:
            job.ClearField("request")
        return job

    def get(self, job_id: str) -> pb.Job:
        return self._snapshot(job_id)

    def watch(self, job_id: str, *, timeout: float | None = None) -> Iterator[pb.Job]:
        """Yield a snapshot now and after each change, until the job is final.

        Updates that arrive faster than the consumer reads are coalesced: each snapshot is
        the job's latest state.
        """
        entry = self._entry(job_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = [-1]  # the version last yielded (a cell the wait predicate reads)

        def changed() -> bool:
            return entry.version != seen[0]

        while True:
            with self._changed:
                left = None if deadline is None else deadline - time.monotonic()
                if not self._changed.wait_for(changed, timeout=left):
                    raise DeadlineExceededError(f"deadline of {timeout} s exceeded")
                seen[0] = entry.version
                snapshot = self._snapshot(job_id, with_request=False)
            yield snapshot
            if snapshot.state in _FINAL:
                return

    def list_page(self, page_size: int, page_token: str, state: int) -> tuple[list[pb.Job], str]:
        """One page of jobs, newest first; the token is the offset of the next page."""
        try:
            offset = int(page_token or 0)
            if offset < 0:
                raise ValueError
        except ValueError:
            raise InvalidArgumentError([("page_token", "not a token from ListJobs")]) from None
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        with self._changed:
            entries = sorted(self._jobs.values(), key=lambda e: e.order, reverse=True)
            matching = [e.job.job_id for e in entries if state in (0, e.job.state)]
        page = matching[offset : offset + size]
        token = str(offset + size) if offset + size < len(matching) else ""
        return [self._snapshot(job_id, with_request=False) for job_id in page], token
