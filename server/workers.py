"""The calls that run in the search processes: plain data in, plain data out.

Searches (Optuna) and bounds (sympy) are CPU-bound: run in the server's event loop they
would starve every other call, health checks included. So each RPC's real work runs here,
in a spawned process of :class:`aalps.server.pool.SearchPool`. The functions take the bytes of
proto messages and numbers, and return an :class:`~aalps.server.outcome.Outcome`. Persisted
jobs run :func:`aalps.server.job_worker.run_job`.

A search polls ``should_stop`` (:class:`~aalps.server.stop_flags.Stopper`) between trials: it
turns true once the server sets the call's stop flag (client cancelled, deadline passed)
or the deadline passes; the search then returns its best plan so far.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from aalps.cost_models.domain import OptimizeRequest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.server import stop_flags
from aalps.server.errors import DeadlineExceededError, SearchLimitError
from aalps.server.outcome import Limits, Outcome, as_outcome
from aalps.server.service import with_deadline
from aalps.server.stop_flags import Stopper, StopSignal

__all__ = [
    "analyze_message",
    "analyze_request",
    "init_process",
    "init_search_process",
    "optimize_message",
    "optimize_request",
    "request_from_message",
    "validate_analysis_request",
    "validate_message",
    "validate_request",
    "warm_up",
    "what_if_message",
    "what_if_request",
]

# --- process set-up -----------------------------------------------------------------------


def init_process() -> None:
    """Process set-up common to every search process.

    Ignores SIGINT (Ctrl-C reaches the whole process group; the server decides what to
    stop), exits as soon as the server process dies (a SIGKILLed server must not leave
    searches running that would race the restarted one), and imports the optimizer now
    so that the first call does not pay for it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def init_search_process(flags: Any) -> None:
    """Initializer of a search process: :func:`init_process`, the shared stop flags, and
    the (slow) imports a search needs.

    Optuna's per-trial INFO lines are silenced: a server would log one per trial.
    """
    init_process()
    stop_flags.install(flags)
    import aalps.proto.convert  # noqa: F401
    import optuna

    from aalps import optimizer  # noqa: F401

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _exit_with(parent: Any) -> None:
    parent.join()
    os._exit(0)


def warm_up() -> int:
    """A no-op that makes the pool start a process; returns its pid."""
    return os.getpid()


# --- calls --------------------------------------------------------------------------------


def request_from_message(message: Any, limits: Limits, field: str = "") -> OptimizeRequest:
    from aalps.proto.convert import request_from_proto

    return request_from_proto(
        message,
        max_tasks=limits.max_tasks,
        max_models=limits.max_models,
        max_trials=limits.max_trials,
        field=field,
    )


def validate_message(message: pb.OptimizeRequest, limits: Limits, field: str) -> int:
    """SubmitJob's check: the request converts (every violation named); the trials it asks."""
    return request_from_message(message, limits, field).search.n_trials


def optimize_message(
    message: pb.OptimizeRequest,
    limits: Limits,
    field: str,
    *,
    deadline: float | None,
    should_stop: Any,
    progress: Any = None,
    limit_at: float | None = None,
    analysis: bool = True,
) -> pb.OptimizeResponse:
    """Validate, search until done, stopped or ``deadline`` (epoch seconds), convert.

    A search stopped by its deadline before any feasible plan raises
    DeadlineExceededError; stopped otherwise, ``SearchCancelled``. ``limit_at`` (epoch
    seconds) is the server's cap on the call (``limits.max_search_seconds``): a search it
    stops raises :class:`SearchLimitError` carrying the best plan found, if any.
    ``analysis`` False: the plan and statistics alone (``optimize(..., analysis=False)``).
    """
    from aalps.cost_models.errors import SearchBudgetExhaustedError
    from aalps.optimizer import SearchCancelled, optimize
    from aalps.proto.convert import result_to_proto

    requested = request_from_message(message, limits, field)
    requested_timeout = requested.search.timeout_seconds
    domain = with_deadline(requested, deadline)
    capped = _Capped(should_stop, limit_at)
    try:
        result = optimize(
            domain,
            progress=progress,
            should_stop=capped,
            storage=None,
            study_name=None,
            analysis=analysis,
        )
    except SearchCancelled:
        if capped.hit:
            raise _limit_error(limits, field) from None
        if deadline is not None and time.time() >= deadline:
            raise DeadlineExceededError("deadline exceeded before a plan was found") from None
        raise
    except SearchBudgetExhaustedError:
        # The call's deadline, not the request's own budget, cut the search short.
        if domain.search.timeout_seconds != requested_timeout:
            raise DeadlineExceededError("deadline exceeded before a plan was found") from None
        raise
    response = result_to_proto(result)
    if capped.hit:
        raise _limit_error(limits, field, response.SerializeToString())
    return response


class _Capped:
    """``should_stop`` with the server's cap: remembers whether the cap stopped the search."""

    def __init__(self, should_stop: Any, limit_at: float | None) -> None:
        self._should_stop = should_stop
        self._limit_at = limit_at
        self.hit = False

    def __call__(self) -> bool:
        if self._should_stop is not None and self._should_stop():
            return True
        if self._limit_at is not None and time.time() >= self._limit_at:
            self.hit = True
        return self.hit


def what_if_message(
    before: pb.OptimizeRequest,
    after: pb.OptimizeRequest,
    limits: Limits,
    field: str,
    *,
    deadline: float | None,
    should_stop: Any,
    limit_at: float | None = None,
) -> pb.WhatIfResponse:
    """One workflow of a what-if: its plan under the old catalog (``before``), then under
    the new one (``after``) unless :func:`aalps.server.whatif.unaffected` proves it stays.

    Both searches skip the analysis (baseline, crossovers, separation, stability): the
    report reads the plans and their costs only. Errors as :func:`optimize_message`'s
    (``limit_at`` caps both searches together).
    """
    from aalps.server.whatif import same_plan, unaffected

    def plan_of(message: pb.OptimizeRequest) -> pb.OptimizeResponse:
        return optimize_message(
            message,
            limits,
            field,
            deadline=deadline,
            should_stop=should_stop,
            limit_at=limit_at,
            analysis=False,
        )

    first = plan_of(before)
    second = first if unaffected(before, after, first) else plan_of(after)
    plan, new = first.plan, second.plan
    return pb.WhatIfResponse(
        changed=not same_plan(plan, new),
        before=plan,
        after=new,
        cost_before=plan.expected_cost,
        cost_after=new.expected_cost,
    )


def _limit_error(limits: Limits, field: str, partial: bytes = b"") -> SearchLimitError:
    found = "the best plan found so far is in the error details" if partial else "no plan found"
    return SearchLimitError(
        f"{field or 'request'}: the search did not finish within the server's limit of "
        f"{limits.max_search_seconds:g} s (max_search_seconds); {found}",
        limit="max_search_seconds",
        partial=partial,
    )


def analyze_message(message: pb.AnalyzePlanRequest, limits: Limits) -> pb.AnalyzePlanResponse:
    """AnalyzePlan: cost, bound and separation of the caller's plan; no search."""
    from aalps.optimizer import analyze_plan
    from aalps.proto.convert import analysis_to_proto, plan_from_proto

    domain = request_from_message(message.request, limits, field="request")
    plan = plan_from_proto(message.plan, "plan")
    baseline = (
        plan_from_proto(message.baseline, "baseline") if message.HasField("baseline") else None
    )
    return analysis_to_proto(analyze_plan(domain, plan, baseline))


def validate_request(request: bytes, limits: Limits, field: str) -> Outcome:
    """:func:`validate_message` in a validation process."""
    with as_outcome() as box:
        message = pb.OptimizeRequest.FromString(request)
        return Outcome(n_trials=validate_message(message, limits, field))
    return box[0]


def validate_analysis_request(request: bytes, limits: Limits) -> Outcome:
    """AnalyzePlan's loading in a validation process: the request, plan and baseline."""
    from aalps.proto.convert import plan_from_proto

    with as_outcome() as box:
        message = pb.AnalyzePlanRequest.FromString(request)
        request_from_message(message.request, limits, field="request")
        plan_from_proto(message.plan, "plan")
        if message.HasField("baseline"):
            plan_from_proto(message.baseline, "baseline")
        return Outcome()
    return box[0]


def optimize_request(
    request: bytes,
    limits: Limits,
    field: str,
    limit_at: float | None,
    stop: StopSignal | None,
    deadline: float | None,
) -> Outcome:
    """:func:`optimize_message` in a search process, stopped by the server's flag.

    ``field`` prefixes violation paths (``requests[3]`` in a batch); ``limit_at`` is the
    server's cap on the call (epoch seconds).
    """
    with as_outcome() as box:
        message = pb.OptimizeRequest.FromString(request)
        response = optimize_message(
            message,
            limits,
            field,
            deadline=deadline,
            should_stop=Stopper(stop, deadline),
            limit_at=limit_at,
        )
        return Outcome(response.SerializeToString())
    return box[0]


def what_if_request(
    before: bytes,
    after: bytes,
    limits: Limits,
    field: str,
    limit_at: float | None,
    stop: StopSignal | None,
    deadline: float | None,
) -> Outcome:
    """:func:`what_if_message` in a search process, stopped by the server's flag."""
    with as_outcome() as box:
        response = what_if_message(
            pb.OptimizeRequest.FromString(before),
            pb.OptimizeRequest.FromString(after),
            limits,
            field,
            deadline=deadline,
            should_stop=Stopper(stop, deadline),
            limit_at=limit_at,
        )
        return Outcome(response.SerializeToString())
    return box[0]


def analyze_request(request: bytes, limits: Limits) -> Outcome:
    """:func:`analyze_message` in a search process."""
    with as_outcome() as box:
        message = pb.AnalyzePlanRequest.FromString(request)
        return Outcome(analyze_message(message, limits).SerializeToString())
    return box[0]
