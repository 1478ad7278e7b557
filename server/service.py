"""The service core: what every call of ``aalps.v1.AalpsService`` does, without gRPC.

One implementation of the rules, run by both transports (as OSS Vizier's in-process client
runs the real service): the ``grpc.aio`` servicer (:mod:`aalps.server.servicer`) over the
search processes and the SQL store, and ``Client.in_process()`` over this process and the
in-memory store. The core owns

- the job life cycle (submit, get, watch, cancel, list) over a
  :class:`~aalps.server.store.JobStore`, with ownership (a caller sees only its own jobs);
- the caps: request sizes and trials x tasks (:class:`~aalps.server.limits.Limits`), batch
  length, page size, and each owner's PENDING plus RUNNING jobs (``max_active_jobs``);
- the order of work: caps (a few ``len`` calls), then validation in the engine's bounded
  step (:meth:`Engine.validate`: a validation process on a server, killed past
  ``validation_seconds``), and only then a search process;
- deadlines: a search gets :data:`DEADLINE_SHARE` of what is left of its call
  (:func:`with_deadline`) and at most ``max_search_seconds`` (the engine's cap), a watch
  ends with ``DeadlineExceededError`` at its deadline;
- batch isolation: one failing request is its own entry's error, never the batch's.

Where the CPU-bound work runs is the :class:`Engine`'s business, and who runs persisted jobs
the :class:`JobScheduler`'s. Errors are domain exceptions; each transport maps them to status
codes with :func:`aalps.server.status.status_for`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from aalps.cost_models.domain import OptimizeRequest, SearchOptions
from aalps.cost_models.errors import InvalidRequestError
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import check_request_caps, message_to_json
from aalps.server.errors import DeadlineExceededError, JobNotFoundError, QuotaExceededError
from aalps.server.limits import Limits
from aalps.server.store import JobPage, JobRecord, JobState, JobStore, check_same_request

__all__ = [
    "DEADLINE_SHARE",
    "DEFAULT_PAGE_SIZE",
    "MAX_BATCH",
    "MAX_PAGE_SIZE",
    "WATCH_INTERVAL_SECONDS",
    "AalpsService",
    "Engine",
    "JobScheduler",
    "with_deadline",
]

#: ListJobs page size when the request says 0, and the largest served.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: Requests one BatchOptimize call may carry.
MAX_BATCH = 10_000
#: Share of the remaining deadline given to the search; the rest covers bounds and replies.
DEADLINE_SHARE = 0.8
#: How often WatchJob reads the store.
WATCH_INTERVAL_SECONDS = 0.1

#: Called with each of the optimizer's progress updates (in process only).
ProgressHook = Callable[[Any], None]


def with_deadline(request: OptimizeRequest, deadline: float | None) -> OptimizeRequest:
    """The request with its search timeout cut to :data:`DEADLINE_SHARE` of the time left.

    ``deadline`` is in epoch seconds (None: no deadline, the request is returned as is).
    """
    if deadline is None:
        return request
    budget = max(0.01, (deadline - time.time()) * DEADLINE_SHARE)
    timeout = request.search.timeout_seconds
    if timeout is not None and timeout <= budget:
        return request
    search = dataclasses.replace(request.search, timeout_seconds=budget)
    return dataclasses.replace(request, search=search)


class Engine(Protocol):
    """Where validation, searches and analyses run: search processes, or this process.

    The service validates each request first (violation paths prefixed with ``field``),
    within ``limits.validation_seconds``; the search and the analysis convert it again.
    Methods raise domain errors; a search honours ``deadline`` through
    :func:`with_deadline` and stops at ``limits.max_search_seconds``.
    """

    async def validate(
        self, request: pb.OptimizeRequest, limits: Limits, field: str, *, deadline: float | None
    ) -> int:
        """Load and check the request without searching; returns the trials it asks for."""
        ...

    async def validate_analysis(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> None:
        """Load and check an AnalyzePlan request (request, plan and baseline)."""
        ...

    async def optimize(
        self,
        request: pb.OptimizeRequest,
        limits: Limits,
        field: str,
        *,
        deadline: float | None,
        progress: ProgressHook | None,
    ) -> pb.OptimizeResponse:
        """Validate and search until done, stopped or ``deadline`` (epoch seconds)."""
        ...

    async def what_if(
        self,
        before: pb.OptimizeRequest,
        after: pb.OptimizeRequest,
        limits: Limits,
        field: str,
        *,
        deadline: float | None,
    ) -> pb.WhatIfResponse:
        """One workflow of a what-if (:func:`aalps.server.workers.what_if_message`): its
        plans under the old and the new catalog. A failure is raised, or (from a process
        that cannot raise across) set as the response's ``error``."""
        ...

    async def analyze(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> pb.AnalyzePlanResponse:
        """Cost the request's plan (and baseline); no search."""
        ...


class JobScheduler(Protocol):
    """Runs persisted jobs: the server's :class:`~aalps.server.jobs.JobRunner`, or a thread."""

    def submit(self, job: JobRecord, size: int) -> None:
        """Queue a PENDING job of estimated ``size`` (trials x tasks); called from the
        service's event loop."""

    def stop(self, job_id: str) -> None:
        """Wake a running job's search (the store's cancel flag says why)."""


@dataclasses.dataclass(frozen=True)
class BatchEntry:
    """One request's outcome in a batch: its response, or the error it failed with."""

    index: int
    response: pb.OptimizeResponse | None = None
    error: BaseException | None = None


class AalpsService:
    """Every call of the service, as coroutines on domain values and messages.

    Parameters
    ----------
    store
        The job store (opened).
    engine
        Runs validation, searches and analyses.
    jobs
        Runs persisted jobs.
    limits
        Caps on one request.
    batch_workers
        Requests of one batch in flight at once.
    """

    def __init__(
        self,
        *,
        store: JobStore,
        engine: Engine,
        jobs: JobScheduler,
        limits: Limits,
        batch_workers: int = 1,
    ) -> None:
        self.store = store
        self.limits = limits
        self._engine = engine
        self._jobs = jobs
        self._batch_workers = max(1, batch_workers)
        self._submitting = asyncio.Lock()  # a quota check and its create, one at a time

    # --- searches -----------------------------------------------------------------------

    async def optimize(
        self,
        request: pb.OptimizeRequest,
        *,
        deadline: float | None,
        progress: ProgressHook | None = None,
    ) -> pb.OptimizeResponse:
        """Optimize: caps first (a few ``len`` calls), validation, then the engine's search."""
        self._check_caps(request)
        await self._engine.validate(request, self.limits, "", deadline=deadline)
        return await self._engine.optimize(
            request, self.limits, "", deadline=deadline, progress=progress
        )

    async def analyze(
        self, request: pb.AnalyzePlanRequest, *, deadline: float | None
    ) -> pb.AnalyzePlanResponse:
        """AnalyzePlan: cost a given plan against its baseline."""
        self._check_caps(request.request, field="request")
        await self._engine.validate_analysis(request, self.limits, deadline=deadline)
        return await self._engine.analyze(request, self.limits, deadline=deadline)

    async def batch(
        self, requests: Sequence[pb.OptimizeRequest], *, deadline: float | None
    ) -> AsyncIterator[BatchEntry]:
        """One entry per request, in completion order (``index`` says which).

        A failing request is its own entry's error (paths prefixed ``requests[i].``); up to
        ``batch_workers`` requests run at once. Closing the iterator early cancels the
        requests still in flight, which stops their searches.
        """
        if len(requests) > MAX_BATCH:
            raise InvalidRequestError.single(
                "requests", f"has {len(requests)} entries; at most {MAX_BATCH} are accepted"
            )
        slots = asyncio.Semaphore(self._batch_workers)

        async def one(index: int, request: pb.OptimizeRequest) -> BatchEntry:
            async with slots:
                field = f"requests[{index}]"
                try:
                    self._check_caps(request, field=field)
                    await self._engine.validate(request, self.limits, field, deadline=deadline)
                    response = await self._engine.optimize(
                        request, self.limits, field, deadline=deadline, progress=None
                    )
                except Exception as error:  # noqa: BLE001 - every failure is this entry's
                    return BatchEntry(index, error=error)
                return BatchEntry(index, response=response)

        tasks = [asyncio.create_task(one(i, r)) for i, r in enumerate(requests)]
        try:
            for finished in asyncio.as_completed(tasks):
                yield await finished
        finally:
            for task in tasks:
                task.cancel()

    async def what_if(
        self, request: pb.WhatIfRequest, *, deadline: float | None
    ) -> AsyncIterator[pb.WhatIfResponse]:
        """WhatIf: one response per workflow, in request order; a failing workflow is its own
        response's error (paths ``requests[i].``).

        Each workflow is one call of the engine (:meth:`Engine.what_if`): its plan under the
        old catalog, then under the new one unless :func:`~aalps.server.whatif.unaffected`
        proves the plan stays; up to ``batch_workers`` workflows run at once. Closing the
        iterator early cancels the workflows still in flight.
        """
        from aalps.server.status import status_for
        from aalps.server.whatif import catalogs

        old, new = catalogs(request)
        if len(old) > MAX_BATCH:
            raise InvalidRequestError.single(
                "requests", f"has {len(old)} entries; at most {MAX_BATCH} are accepted"
            )
        names = list(request.names) + [f"workflow {i}" for i in range(len(request.names), len(old))]
        slots = asyncio.Semaphore(self._batch_workers)

        async def one(index: int) -> pb.WhatIfResponse:
            async with slots:
                field = f"requests[{index}]"
                try:
                    self._check_caps(old[index], field=field)
                    self._check_caps(new[index], field=field)
                    await self._engine.validate(old[index], self.limits, field, deadline=deadline)
                    response = await self._engine.what_if(
                        old[index], new[index], self.limits, field, deadline=deadline
                    )
                except Exception as error:  # noqa: BLE001 - every failure is this workflow's
                    response = pb.WhatIfResponse(error=status_for(error))
                response.index, response.name = index, names[index]
                return response

        tasks = [asyncio.create_task(one(i)) for i in range(len(old))]
        try:
            for task in tasks:
                yield await task
        finally:
            for task in tasks:
                task.cancel()

    # --- jobs ---------------------------------------------------------------------------

    async def submit_job(
        self,
        owner: str,
        request: pb.OptimizeRequest,
        *,
        deadline: float | None,
        request_id: str = "",
    ) -> JobRecord:
        """SubmitJob: caps, the owner's quota, validation (bad input fails the call),
        then store and schedule.

        The quota (``max_active_jobs`` PENDING and RUNNING jobs per owner) is checked
        before validation and again, under a lock, with the job's creation. A retry (a
        ``request_id`` the owner used before) returns the job the first call made, before
        any of that: it is not a new job.
        """
        _check_request_id(request_id)
        request_json = message_to_json(request)
        if request_id:
            known = await asyncio.to_thread(self.store.find_request, owner, request_id)
            if known is not None:
                return check_same_request(known, request_json)
        self._check_caps(request, field="request")
        await self._check_quota(owner)
        n_trials = await self._engine.validate(request, self.limits, "request", deadline=deadline)
        async with self._submitting:
            await self._check_quota(owner)
            job = await asyncio.to_thread(
                self.store.create,
                owner=owner,
                request_json=request_json,
                n_trials=n_trials,
                request_id=request_id,
            )
        if job.state is JobState.PENDING:  # not a concurrent retry's job, run already
            self._jobs.submit(job, n_trials * max(1, len(request.graph.tasks)))
        return job

    async def get_job(self, owner: str, job_id: str) -> JobRecord:
        """GetJob: the owner's job, or JobNotFoundError."""
        _require_id(job_id)
        job = await asyncio.to_thread(self.store.get, job_id, owner)
        if job is None:
            raise JobNotFoundError(job_id)
        return job

    async def watch_job(
        self, owner: str, job_id: str, *, deadline: float | None = None
    ) -> AsyncIterator[JobRecord]:
        """WatchJob: the job now and after each change, until it is final.

        Changes that come faster than :data:`WATCH_INTERVAL_SECONDS` are coalesced: each
        snapshot is the job's latest state. Past ``deadline`` (epoch seconds) the watch
        raises DeadlineExceededError.
        """
        last: tuple[object, ...] | None = None
        while True:
            job = await self.get_job(owner, job_id)
            seen = (job.state, job.trials_done, job.best_expected_cost, job.cancel_requested)
            if seen != last:
                last = seen
                yield job
            if job.state.final:
                return
            if deadline is not None and time.time() >= deadline:
                raise DeadlineExceededError("the job did not finish before the deadline")
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)

    async def cancel_job(self, owner: str, job_id: str) -> JobRecord:
        """CancelJob: a PENDING job ends at once, a RUNNING one at its next check.

        Raises JobFinishedError for a job already final, JobNotFoundError for none.
        """
        _require_id(job_id)
        job = await asyncio.to_thread(self.store.request_cancel, job_id, owner)
        if job is None:
            raise JobNotFoundError(job_id)
        self._jobs.stop(job.job_id)
        return job

    async def list_jobs(
        self, owner: str, *, page_size: int, page_token: str, state: JobState | None
    ) -> JobPage:
        """ListJobs: the owner's jobs, newest first; 0 asks for the default page size."""
        if page_size < 0:
            raise InvalidRequestError.single("page_size", "must be >= 0")
        return await asyncio.to_thread(
            self.store.list,
            owner,
            page_size=min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            page_token=page_token,
            state=state,
        )

    # --- helpers ------------------------------------------------------------------------

    def _check_caps(self, request: pb.OptimizeRequest, field: str = "") -> None:
        limits = self.limits
        check_request_caps(
            request,
            max_tasks=limits.max_tasks,
            max_models=limits.max_models,
            max_trials=limits.max_trials,
            field=field,
        )
        n_trials = request.search.n_trials or SearchOptions.n_trials
        tasks = len(request.graph.tasks)
        if n_trials * tasks > limits.max_trial_tasks:
            prefix = f"{field}." if field else ""
            raise InvalidRequestError.single(
                f"{prefix}search.n_trials",
                f"is {n_trials}; with {tasks} tasks that is {n_trials * tasks} trial-tasks, "
                f"at most {limits.max_trial_tasks} are accepted (max_trial_tasks)",
            )

    async def _check_quota(self, owner: str) -> None:
        cap = self.limits.max_active_jobs
        active = await asyncio.to_thread(self.store.count_active, owner, at_most=cap)
        if active >= cap:
            raise QuotaExceededError(
                f"owner:{owner}",
                "max_active_jobs",
                f"jobs: {active} of this caller's jobs are queued or running; at most {cap} "
                "are accepted at once (max_active_jobs): wait for some to finish",
            )


def _require_id(job_id: str) -> None:
    if not job_id:
        raise InvalidRequestError.single("job_id", "is required")


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _check_request_id(request_id: str) -> None:
    if request_id and not _REQUEST_ID.fullmatch(request_id):
        raise InvalidRequestError.single(
            "request_id", "must be 1-64 letters, digits, '-', '_' or '.' (or empty)"
        )
