"""The in-process backend: the optimizer called directly, through the shared converters.

Requests go message -> domain (``request_from_proto``) -> optimizer -> message
(``result_to_proto``), exactly the path the server's servicer takes, so a report built here
is the one a server would send. Domain errors become the client's typed errors. Jobs run
in memory on a background thread (:mod:`aalps.client.local_jobs`): they live as long as the
client, and are meant for scripts and tests; persisted jobs need a server.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aalps.client.backend import ProgressCallback
from aalps.client.errors import (
    AalpsClientError,
    CancelledError,
    DeadlineExceededError,
    error_from_domain,
    internal_error,
    status_from_error,
)
from aalps.client.inputs import with_search_options
from aalps.client.local_jobs import LocalJobs
from aalps.client.results import Progress
from aalps.proto.aalps.v1 import aalps_pb2 as pb

StopCheck = Callable[[], bool]

#: Share of a call's deadline given to the search (the server's rule, kept in step).
DEADLINE_SHARE = 0.8


@contextmanager
def domain_errors() -> Iterator[None]:
    """Re-raise domain errors (bad request, infeasible) as the client's typed errors."""
    try:
        yield
    except AalpsClientError:
        raise
    except Exception as error:
        typed = error_from_domain(error)
        if typed is None:
            raise
        raise typed from error


class InProcessBackend:
    """Runs every call in this process; jobs are kept in memory."""

    def __init__(self) -> None:
        self._jobs = LocalJobs(self._run, self._validate)

    @staticmethod
    def _validate(request: pb.OptimizeRequest, field: str = "") -> Any:
        from aalps.server.converters import request_from_proto

        with domain_errors():
            return request_from_proto(request, field=field)

    def _run(
        self,
        request: pb.OptimizeRequest,
        progress: ProgressCallback | None,
        should_stop: StopCheck,
    ) -> pb.OptimizeResponse:
        """Validate, search, convert: the servicer's path without the wire."""
        from aalps.optimizer import SearchCancelled, optimize
        from aalps.server.converters import result_to_proto

        domain = self._validate(request)

        def report(update: Any) -> None:
            assert progress is not None
            best = update.best_expected_cost
            progress(
                Progress(
                    trials_done=int(update.trials_done),
                    n_trials=int(update.n_trials),
                    best_expected_cost=float(best) if best and math.isfinite(best) else 0.0,
                )
            )

        try:
            with domain_errors():
                result = optimize(
                    domain, progress=report if progress else None, should_stop=should_stop
                )
        except SearchCancelled as error:
            raise CancelledError(str(error) or "the search was cancelled") from None
        return result_to_proto(result)

    def optimize(
        self,
        request: pb.OptimizeRequest,
        *,
        timeout: float | None,
        progress: ProgressCallback | None,
    ) -> pb.OptimizeResponse:
        """Search in this thread, as the server's Optimize does: a deadline cuts the search's
        time budget to :data:`DEADLINE_SHARE` of it (the rest covers bounds), and a search
        stopped by the deadline before any feasible plan fails with DEADLINE_EXCEEDED."""
        if timeout is None:
            return self._run(request, progress, lambda: False)
        deadline = time.monotonic() + timeout
        budget = max(0.01, timeout * DEADLINE_SHARE)
        if not 0 < request.search.timeout_seconds <= budget:
            request = with_search_options(request, timeout_seconds=budget)
        try:
            return self._run(request, progress, lambda: time.monotonic() >= deadline)
        except CancelledError:
            if time.monotonic() < deadline:
                raise
            raise DeadlineExceededError(f"deadline of {timeout} s exceeded") from None

    def analyze(
        self, request: pb.AnalyzePlanRequest, *, timeout: float | None
    ) -> pb.AnalyzePlanResponse:
        from aalps.optimizer import analyze_plan
        from aalps.server.converters import analysis_to_proto, plan_from_proto

        domain = self._validate(request.request, field="request")
        with domain_errors():
            plan = plan_from_proto(request.plan, "plan")
            baseline = (
                plan_from_proto(request.baseline, "baseline")
                if request.HasField("baseline")
                else None
            )
            return analysis_to_proto(analyze_plan(domain, plan, baseline=baseline))

    def batch(
        self, request: pb.BatchOptimizeRequest, *, timeout: float | None
    ) -> Iterator[pb.BatchOptimizeResponse]:
        """One request after another; a failing entry becomes an error entry, never stops
        the others."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for index, item in enumerate(request.requests):
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                yield pb.BatchOptimizeResponse(
                    index=index, result=self.optimize(item, timeout=left, progress=None)
                )
            except AalpsClientError as error:
                yield pb.BatchOptimizeResponse(index=index, error=status_from_error(error))
            except Exception as error:  # a bug in one entry must not lose the others
                yield pb.BatchOptimizeResponse(
                    index=index, error=status_from_error(internal_error(error))
                )

    def submit(
        self, request: pb.SubmitJobRequest, *, timeout: float | None
    ) -> pb.SubmitJobResponse:
        return pb.SubmitJobResponse(job=self._jobs.submit(request.request))

    def get_job(self, request: pb.GetJobRequest, *, timeout: float | None) -> pb.GetJobResponse:
        return pb.GetJobResponse(job=self._jobs.get(request.job_id))

    def watch(
        self, request: pb.WatchJobRequest, *, timeout: float | None
    ) -> Iterator[pb.WatchJobResponse]:
        for job in self._jobs.watch(request.job_id, timeout=timeout):
            yield pb.WatchJobResponse(job=job)

    def cancel(
        self, request: pb.CancelJobRequest, *, timeout: float | None
    ) -> pb.CancelJobResponse:
        return pb.CancelJobResponse(job=self._jobs.cancel(request.job_id))

    def list_jobs(
        self, request: pb.ListJobsRequest, *, timeout: float | None
    ) -> pb.ListJobsResponse:
        jobs, token = self._jobs.list_page(request.page_size, request.page_token, request.state)
        return pb.ListJobsResponse(jobs=jobs, next_page_token=token)

    def close(self) -> None:
        self._jobs.close()
