"""A persisted job, run in a search process: search under a claim, record the outcome.

The server's :class:`~aalps.server.jobs.JobRunner` claims the job (a lease with a fencing
token) and keeps the lease alive; the worker writes the store itself with that token:
progress at most every :data:`~aalps.server.stop_flags.POLL_SECONDS` (monotone: the store
keeps the maximum), the final state once. A refused write means another replica has
claimed the job since: the worker stops at once. It also stops when the server sets its
stop flag (CancelJob, lease lost, shutdown) or when the store's cancel flag is set (a
CancelJob that reached another replica).

The Optuna study lives in the job store's database, named ``aalps-job-<id>`` (one per job,
whatever the attempt), so ``optuna-dashboard <storage URL>`` shows every job and a resumed
job *continues* its study (:mod:`aalps.server.job_study`): trials already COMPLETE count
toward ``n_trials``, trials a dead owner left RUNNING are failed.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from typing import Any

from aalps.server.job_study import resume_study, study_name
from aalps.server.outcome import Limits, as_outcome
from aalps.server.stop_flags import POLL_SECONDS, Stopper, StopSignal
from aalps.server.store import JobRecord, JobState, JobStore
from aalps.server.store_guard import WORKER_POLICY, guard_store, retry_connections
from aalps.server.stores import open_store
from aalps.server.workers import request_from_message
from google.protobuf import json_format
from google.rpc import code_pb2

__all__ = [
    "IN_PROCESS_LEASE_SECONDS",
    "MAX_ATTEMPTS",
    "optuna_storage",
    "run_job",
    "run_stored_job",
]

_log = logging.getLogger(__name__)

#: A job that has been taken over after its owner died this many times is failed instead
#: of resumed (graceful releases do not count).
MAX_ATTEMPTS = 8
#: The lease of a job claimed in process (no other replica can see the store).
IN_PROCESS_LEASE_SECONDS = 365 * 24 * 3600.0


@functools.cache
def _store(url: str, table_prefix: str) -> JobStore:
    return guard_store(open_store(url, table_prefix=table_prefix, create=False), WORKER_POLICY)


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

    def __init__(self, store: JobStore, job_id: str, token: int, trials_before: int) -> None:
        self._store, self._job_id, self._token = store, job_id, token
        self._before = trials_before  # trials of earlier attempts, kept in the study
        self._next = 0.0
        self._trials = 0
        self.lost = False  # a write was refused: another replica claimed the job
        self._best: float | None = None
        self._dirty = False

    def __call__(self, progress: Any) -> None:
        """Called by the optimizer with an ``aalps.optimizer.Progress`` after each trial."""
        self._trials = max(self._trials, self._before + int(progress.trials_done))
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
        if self.lost:
            return
        self.lost = not self._store.update_progress(
            self._job_id,
            token=self._token,
            trials_done=self._trials,
            best_expected_cost=self._best,
        )


def run_job(
    job: JobRecord,
    storage_url: str,
    table_prefix: str,
    limits: Limits,
    stop: StopSignal | None,
    deadline: float | None = None,
) -> str:
    """Run one claimed job to a final state (or until the server stops it).

    ``job`` is the record the caller's claim returned: the caller holds its lease under
    ``job.fencing_token``. The search continues the job's Optuna study ``aalps-job-<id>``
    in the job store's database, and finishes, fails or cancels the job. When ``stop`` is
    set without a cancel request (shutdown, lease lost), the job is left as it is: the
    runner releases it, or another replica holds it already. Returns the state the job
    was left in ("" if the claim was no longer current). An attempt searches at most
    ``limits.max_job_seconds``; ``deadline`` is accepted (and ignored) to fit
    :meth:`aalps.server.pool.SearchPool.run_stoppable`.
    """
    store = _store(storage_url, table_prefix)
    study = retry_connections(optuna_storage(storage_url))  # waits out a DB restart
    return run_stored_job(store, job, limits, stop, claimed=True, study_storage=study)


def run_stored_job(
    store: JobStore,
    job: JobRecord,
    limits: Limits,
    stop: StopSignal | None,
    *,
    claimed: bool = False,
    study_storage: Any = None,
) -> str:
    """:func:`run_job` on an opened store (``Client.in_process()`` runs its jobs so).

    Unless ``claimed``, the job is claimed here with a lease that never runs out (in
    process, where no other replica sees the store). ``study_storage`` keeps the job's
    study (None: in memory).
    """
    if not claimed:
        claim = store.claim(job.job_id, owner="in-process", lease_seconds=IN_PROCESS_LEASE_SECONDS)
        if claim is None:
            return ""
        job = claim
    job_id, token = job.job_id, job.fencing_token
    if job.cancel_requested:
        store.cancel(job_id, token=token)
        return JobState.CANCELLED
    if job.attempts > MAX_ATTEMPTS:
        message = f"gave up after {MAX_ATTEMPTS} attempts (the worker kept dying)"
        store.fail(job_id, token=token, code=code_pb2.ABORTED, message=message)
        return JobState.FAILED
    try:
        return _search_job(store, job, study_storage, limits, stop)
    except Exception as error:  # noqa: BLE001 - every failure ends the attempt somehow
        from aalps.server.status import status_for

        status = status_for(error)
        if status.code == code_pb2.UNAVAILABLE:
            # the store (or the study's database) is out: leave the job to its lease, which
            # this or another replica takes over once the database is back
            _log.warning("job %s stopped by a store fault: %s", job_id, status.message)
            return JobState.RUNNING
        _log.exception("job %s failed", job_id)  # a bug: record it, never leave it RUNNING
        store.fail(job_id, token=token, code=status.code, message=status.message)
        return JobState.FAILED


def _search_job(
    store: JobStore,
    job: JobRecord,
    study_storage: Any,
    limits: Limits,
    stop: StopSignal | None,
) -> str:
    from aalps.optimizer import optimize
    from aalps.proto.aalps.v1 import aalps_pb2 as pb
    from aalps.proto.convert import message_to_json, result_to_proto
    from aalps.server.status import status_for

    job_id, token = job.job_id, job.fencing_token
    deadline = time.time() + limits.max_job_seconds
    stopper = Stopper(stop, deadline, poll=lambda: store.cancel_requested(job_id, token))
    result_json = ""
    with as_outcome() as box:
        message = json_format.Parse(job.request_json, pb.OptimizeRequest())
        request = request_from_message(message, limits)
        name = study_name(job_id) if study_storage else None
        done = resume_study(study_storage, name) if name else 0
        if done:  # a resumed study: only what is left of n_trials
            remaining = max(1, request.search.n_trials - done)
            search = dataclasses.replace(request.search, n_trials=remaining)
            request = dataclasses.replace(request, search=search)
        writer = _ProgressWriter(store, job_id, token, done)
        result = optimize(
            request,
            progress=writer,
            should_stop=stopper,
            storage=study_storage,
            study_name=name,
            study_fence=store.study_fence(job_id, token) if name else None,
        )
        writer.flush(final_best=result.plan.outcome.expected_cost)
        result_json = message_to_json(result_to_proto(result))
    cancelled = stopper.stopped and store.cancel_requested(job_id)
    if stopper.stopped and not cancelled:
        if not stopper.expired:
            return JobState.RUNNING  # shutdown or lease lost: the runner or another replica
        return _fail_at_limit(store, job_id, token, limits, result_json)
    if not box:
        if stopper.stopped:
            store.cancel(job_id, token=token, result_json=result_json)
            return JobState.CANCELLED
        if not store.finish(job_id, token=token, result_json=result_json):
            return ""  # another replica claimed the job meanwhile: its result stands
        return JobState.SUCCEEDED
    outcome = box[0]
    if outcome.error == "cancelled":
        store.cancel(job_id, token=token)
        return JobState.CANCELLED
    try:
        outcome.unwrap()
    except Exception as error:
        status = status_for(error)
        store.fail(job_id, token=token, code=status.code, message=status.message)
    return JobState.FAILED


def _fail_at_limit(
    store: JobStore, job_id: str, token: int, limits: Limits, result_json: str
) -> str:
    """The attempt reached ``max_job_seconds``: FAILED, DEADLINE_EXCEEDED, best plan kept."""
    text = (
        f"job: the search did not finish within the server's limit of "
        f"{limits.max_job_seconds:g} s (max_job_seconds)"
    )
    text += "; result holds the best plan found" if result_json else "; no plan found"
    store.fail(
        job_id,
        token=token,
        code=code_pb2.DEADLINE_EXCEEDED,
        message=text,
        result_json=result_json,
    )
    return JobState.FAILED
