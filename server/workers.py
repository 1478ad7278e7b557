"""The work that runs in the search processes: plain data in, plain data out.

Searches (Optuna) and bounds (sympy) are CPU-bound: run in the server's event loop they
would starve every other call, health checks included. So each RPC's real work runs here,
in a spawned process of :class:`server.pool.SearchPool`. The functions take bytes of proto
messages, URLs and numbers, and return an :class:`Outcome` (a domain error is returned as
data, not raised: exceptions whose ``__init__`` takes records do not survive pickling).

Stopping: a search polls ``should_stop`` between trials. Here it is true once the call's
stop event is set (client cancelled, deadline passed, job cancelled, server shutting down),
the deadline has passed, or, for jobs, the store's cancel flag is set (read at most 5 times
a second, so a cancel sent to another replica also stops the search).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf import json_format
from google.rpc import code_pb2

from cost_models.domain import OptimizeRequest
from cost_models.errors import FieldViolation, InfeasibleError, InvalidRequestError
from server.errors import DeadlineExceededError, SearchCancelledError
from server.store import JobState, JobStore, open_store

_log = logging.getLogger(__name__)

#: Seconds between two reads of a stop signal (event, store flag) and two progress writes.
POLL_SECONDS = 0.2
#: A job that has crashed its worker this many times is failed instead of resumed.
MAX_ATTEMPTS = 5
#: Share of the remaining deadline given to the search; the rest covers bounds and replies.
DEADLINE_SHARE = 0.8


class StopSignal(Protocol):
    """A ``multiprocessing`` Event (or its Manager proxy): all a worker reads of it."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Limits:
    """Caps on one request, as the server is configured."""

    max_tasks: int
    max_models: int
    max_trials: int


@dataclass(frozen=True)
class Outcome:
    """What a worker hands back: a serialized response, or an error as plain data.

    Attributes:
        response: The serialized response message when ``error`` is "".
        error: "", or one of "invalid", "infeasible", "cancelled", "deadline".
        violations: (field, description) pairs of an invalid or infeasible request.
        message: The error's message.
        n_trials: Trials the request asks for (from validation).
    """

    response: bytes = b""
    error: str = ""
    violations: tuple[tuple[str, str], ...] = ()
    message: str = ""
    n_trials: int = 0

    def unwrap(self) -> bytes:
        """The response, or the domain error re-raised in the calling process."""
        items = [FieldViolation(f, d) for f, d in self.violations]
        if self.error == "invalid":
            raise InvalidRequestError(items)
        if self.error == "infeasible":
            raise InfeasibleError(items)
        if self.error == "cancelled":
            raise SearchCancelledError(self.message or "the search was cancelled")
        if self.error == "deadline":
            raise DeadlineExceededError(self.message or "deadline exceeded")
        return self.response


# --- process set-up -----------------------------------------------------------------------


def init_process() -> None:
    """Initializer of every search process (and of the Manager's process).

    Ignores SIGINT (Ctrl-C reaches the whole process group; the server decides what to
    stop), exits as soon as the server process dies (a SIGKILLed server must not leave
    searches running that would race the restarted one), and imports the optimizer now
    so that the first call does not pay for it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    logging.getLogger("optuna").setLevel(logging.WARNING)


def init_search_process() -> None:
    """:func:`init_process`, then the (slow) imports a search needs."""
    init_process()
    import optimizer  # noqa: F401
    import server.converters  # noqa: F401


def _exit_with(parent: Any) -> None:
    parent.join()
    os._exit(0)


def warm_up() -> int:
    """A no-op that makes the pool start a process; returns its pid."""
    return os.getpid()


# --- calls --------------------------------------------------------------------------------


@contextmanager
def _as_outcome() -> Iterator[list[Outcome]]:
    """Catch the domain errors of a call into an Outcome (appended to the yielded list)."""
    from optimizer import SearchCancelled

    box: list[Outcome] = []
    try:
        yield box
    except InvalidRequestError as error:
        box.append(Outcome(error="invalid", violations=_pairs(error.violations)))
    except InfeasibleError as error:
        box.append(
            Outcome(error="infeasible", violations=_pairs(error.reasons), message=str(error))
        )
    except SearchCancelled as error:
        box.append(Outcome(error="cancelled", message=str(error)))


def _pairs(items: tuple[FieldViolation, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v.field, v.description) for v in items)


def _request(message: Any, limits: Limits, field: str = "") -> OptimizeRequest:
    from server.converters import request_from_proto

    return request_from_proto(
        message,
        max_tasks=limits.max_tasks,
        max_models=limits.max_models,
        max_trials=limits.max_trials,
        field=field,
    )


def validate_request(request: bytes, limits: Limits, field: str) -> Outcome:
    """SubmitJob's check: the request converts (every violation named); no search."""
    from proto.aalps.v1 import aalps_pb2 as pb

    with _as_outcome() as box:
        domain = _request(pb.OptimizeRequest.FromString(request), limits, field)
        return Outcome(n_trials=domain.search.n_trials)
    return box[0]


def optimize_request(
    request: bytes,
    limits: Limits,
    field: str,
    stop: StopSignal | None,
    deadline: float | None,
) -> Outcome:
    """Optimize: validate, search until done, stopped or ``deadline`` (epoch seconds).

    ``field`` prefixes violation paths (``requests[3]`` in a batch).
    """
    from optimizer import optimize
    from proto.aalps.v1 import aalps_pb2 as pb
    from server.converters import result_to_proto

    with _as_outcome() as box:
        message = pb.OptimizeRequest.FromString(request)
        domain = _with_deadline(_request(message, limits, field), deadline)
        stopper = Stopper(stop, deadline)
        result = optimize(domain, progress=None, should_stop=stopper, storage=None, study_name=None)
        return Outcome(result_to_proto(result).SerializeToString())
    outcome = box[0]
    if outcome.error == "cancelled" and deadline is not None and time.time() >= deadline:
        return Outcome(error="deadline", message="deadline exceeded before a plan was found")
    return outcome


def analyze_request(request: bytes, limits: Limits) -> Outcome:
    """AnalyzePlan: cost, bound and separation of the caller's plan; no search."""
    from optimizer import analyze_plan
    from proto.aalps.v1 import aalps_pb2 as pb
    from server.converters import analysis_to_proto, plan_from_proto

    with _as_outcome() as box:
        message = pb.AnalyzePlanRequest.FromString(request)
        domain = _request(message.request, limits, field="request")
        plan = plan_from_proto(message.plan, "plan")
        baseline = (
            plan_from_proto(message.baseline, "baseline") if message.HasField("baseline") else None
        )
        result = analyze_plan(domain, plan, baseline)
        return Outcome(analysis_to_proto(result).SerializeToString())
    return box[0]


def _with_deadline(request: OptimizeRequest, deadline: float | None) -> OptimizeRequest:
    """The request with its search timeout cut to fit the call's deadline."""
    if deadline is None:
        return request
    budget = max(0.01, (deadline - time.time()) * DEADLINE_SHARE)
    timeout = request.search.timeout_seconds
    if timeout is not None and timeout <= budget:
        return request
    search = dataclasses.replace(request.search, timeout_seconds=budget)
    return dataclasses.replace(request, search=search)


class Stopper:
    """``should_stop`` for the optimizer: a stop event, a deadline and an optional poll.

    The event and the poll (e.g. the store's cancel flag) are read at most every
    :data:`POLL_SECONDS`; once true, it stays true. A stop event that cannot be reached
    (the server's Manager is gone) counts as set.
    """

    def __init__(
        self,
        stop: StopSignal | None,
        deadline: float | None,
        poll: Callable[[], bool] | None = None,
    ) -> None:
        self._stop = stop
        self._deadline = deadline
        self._poll = poll
        self._next = 0.0
        self.stopped = False

    def __call__(self) -> bool:
        if self.stopped:
            return True
        now = time.time()
        if self._deadline is not None and now >= self._deadline:
            self.stopped = True
        elif now >= self._next:
            self._next = now + POLL_SECONDS
            self.stopped = self.signalled() or (self._poll is not None and self._poll())
        return self.stopped

    def signalled(self) -> bool:
        """Whether the stop event is set (or unreachable)."""
        if self._stop is None:
            return False
        try:
            return bool(self._stop.is_set())
        except (OSError, EOFError):
            return True


# --- jobs ---------------------------------------------------------------------------------


@functools.cache
def _store(url: str, table_prefix: str) -> JobStore:
    return open_store(url, table_prefix=table_prefix, create=False)


@functools.cache
def optuna_storage(url: str) -> Any:
    """The Optuna storage in the job store's database (one per process and URL)."""
    import optuna

    if url.startswith("sqlite"):
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
    else:
        engine_kwargs = {"pool_pre_ping": True}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


class _ProgressWriter:
    """The optimizer's progress callback: writes the store at most every POLL_SECONDS."""

    def __init__(self, store: JobStore, job_id: str, attempt: int) -> None:
        self._store, self._job_id, self._attempt = store, job_id, attempt
        self._next = 0.0
        self._trials = 0
        self._best: float | None = None
        self._dirty = False

    def __call__(self, progress: Any) -> None:
        """Called by the optimizer with an ``optimizer.Progress`` after each trial."""
        self._trials = max(self._trials, int(progress.trials_done))
        self._note_best(progress.best_expected_cost)
        self._dirty = True
        if time.monotonic() >= self._next:
            self.flush()

    def _note_best(self, best: float | None) -> None:
        if best is not None and math.isfinite(best):
            self._best = best if self._best is None else min(self._best, best)

    def flush(self, final_best: float | None = None) -> None:
        """Write the latest figures now (with the final plan's cost at the end)."""
        if final_best is not None:
            self._best = None  # the plan returned is the best: its cost is the figure
            self._note_best(final_best)
            self._dirty = True
        if not self._dirty:
            return
        self._dirty = False
        self._next = time.monotonic() + POLL_SECONDS
        self._store.update_progress(
            self._job_id,
            attempt=self._attempt,
            trials_done=self._trials,
            best_expected_cost=self._best,
        )


def run_job(
    job_id: str,
    storage_url: str,
    table_prefix: str,
    attempts_seen: int,
    limits: Limits,
    stop: StopSignal | None,
) -> str:
    """Run one persisted job to a final state (or until the server stops it).

    Claims the job (attempt ``attempts_seen + 1``), searches with its Optuna study
    ``aalps-job-<id>-<attempt>`` in the job store's database, and finishes, fails or
    cancels it. When ``stop`` is set without a cancel request (the server is shutting
    down), the job is left RUNNING for the next start to resume. Returns the state the
    job was left in ("" if another worker owns it).
    """
    store = _store(storage_url, table_prefix)
    job = store.start(job_id, attempts_seen=attempts_seen)
    if job is None:
        return ""
    attempt = job.attempts
    if job.cancel_requested:
        store.cancel(job_id, attempt=attempt)
        return JobState.CANCELLED
    if attempt > MAX_ATTEMPTS:
        message = f"gave up after {MAX_ATTEMPTS} attempts (the worker kept dying)"
        store.fail(job_id, attempt=attempt, code=code_pb2.ABORTED, message=message)
        return JobState.FAILED
    try:
        return _search_job(store, job_id, job.request_json, attempt, storage_url, limits, stop)
    except Exception as error:  # a bug: record it rather than leave the job RUNNING forever
        _log.exception("job %s failed", job_id)
        store.fail(
            job_id, attempt=attempt, code=code_pb2.INTERNAL, message=f"internal error: {error}"
        )
        return JobState.FAILED


def _search_job(
    store: JobStore,
    job_id: str,
    request_json: str,
    attempt: int,
    storage_url: str,
    limits: Limits,
    stop: StopSignal | None,
) -> str:
    from optimizer import optimize
    from proto.aalps.v1 import aalps_pb2 as pb
    from server.converters import message_to_json, result_to_proto
    from server.status import status_for

    stopper = Stopper(stop, None, poll=lambda: store.cancel_requested(job_id))
    writer = _ProgressWriter(store, job_id, attempt)
    result_json = ""
    with _as_outcome() as box:
        request = _request(json_format.Parse(request_json, pb.OptimizeRequest()), limits)
        result = optimize(
            request,
            progress=writer,
            should_stop=stopper,
            storage=optuna_storage(storage_url),
            study_name=f"aalps-job-{job_id}-{attempt}",
        )
        writer.flush(final_best=result.plan.outcome.expected_cost)
        result_json = message_to_json(result_to_proto(result))
    interrupted = stopper.stopped and not store.cancel_requested(job_id)
    if interrupted:
        return JobState.RUNNING  # the server is shutting down: resume on the next start
    if not box:
        if stopper.stopped:
            store.cancel(job_id, attempt=attempt, result_json=result_json)
            return JobState.CANCELLED
        store.finish(job_id, attempt=attempt, result_json=result_json)
        return JobState.SUCCEEDED
    outcome = box[0]
    if outcome.error == "cancelled":
        store.cancel(job_id, attempt=attempt)
        return JobState.CANCELLED
    try:
        outcome.unwrap()
    except Exception as error:
        status = status_for(error)
        store.fail(job_id, attempt=attempt, code=status.code, message=status.message)
    return JobState.FAILED
