"""Domain errors -> gRPC status codes, with google.rpc rich error details.

The servicer raises domain errors and never builds a status itself: :func:`status_for`
is the one mapping, used for failed calls (:func:`rpc_errors`), failed batch entries and
failed jobs alike, so a client sees the same status for the same failure everywhere.

==========================================  ====================  ========================
error                                       code                  details
==========================================  ====================  ========================
``InvalidRequestError``                     INVALID_ARGUMENT      ``BadRequest``, one
                                                                  violation per field
``InfeasibleError`` (no feasible plan,      FAILED_PRECONDITION   ``PreconditionFailure``
e.g. a capability no model has)                                   type ``INFEASIBLE``
``JobFinishedError`` (cancel a final job)   FAILED_PRECONDITION
``JobNotFoundError``                        NOT_FOUND
``SearchCancelled`` / cancelled call        CANCELLED
``SearchLimitError`` (a server time limit  DEADLINE_EXCEEDED     ``ErrorInfo`` (reason
stopped the search)                                               ``SEARCH_LIMIT``,
                                                                  metadata ``limit``), and
                                                                  the partial
                                                                  ``OptimizeResponse``
``DeadlineExceededError``                   DEADLINE_EXCEEDED
``QuotaExceededError`` (per-owner limit)    RESOURCE_EXHAUSTED    ``QuotaFailure``
``StoreUnavailableError``, worker died      UNAVAILABLE
a database error (unreachable, locked,      UNAVAILABLE           (message says the job
disk full, corrupt), raw or via Optuna                            store is unreachable)
anything else (a bug)                       INTERNAL              (message only)
==========================================  ====================  ========================
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
from aalps.cost_models.errors import FieldViolation, InfeasibleError, InvalidRequestError
from aalps.optimizer import SearchCancelled
from aalps.server.errors import (
    DeadlineExceededError,
    JobNotFoundError,
    QuotaExceededError,
    SearchLimitError,
    WorkerDiedError,
)
from aalps.server.store import JobFinishedError, StoreUnavailableError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "INFEASIBLE_TYPE",
    "MAX_DETAIL_BYTES",
    "Req",
    "Resp",
    "SEARCH_LIMIT_REASON",
    "Self",
    "abort_with",
    "rpc_errors",
    "rpc_stream_errors",
    "status_for",
]

_log = logging.getLogger(__name__)

#: PreconditionFailure.Violation.type of an infeasible request (the client keys on it).
INFEASIBLE_TYPE = "INFEASIBLE"
#: Rich details travel in trailing metadata, which clients cap (8 KiB by default): a
#: request with thousands of bad fields reports the first ones and a count of the rest.
MAX_DETAIL_BYTES = 6000
#: ErrorInfo.reason of a search stopped by a server time limit.
SEARCH_LIMIT_REASON = "SEARCH_LIMIT"


def status_for(
    error: BaseException, *, detail_bytes: int | None = MAX_DETAIL_BYTES
) -> status_pb2.Status:
    """The ``google.rpc.Status`` reporting ``error`` to a client.

    ``detail_bytes`` caps a partial result packed into the details (it travels in trailing
    metadata, which clients cap); None for a status sent in a message body (a batch entry).
    """
    if isinstance(error, InvalidRequestError):
        return _bad_request(error.violations)
    if isinstance(error, InfeasibleError):
        return _infeasible(str(error), error.reasons)
    if isinstance(error, SearchLimitError):
        return _search_limit(error, detail_bytes)
    if isinstance(error, QuotaExceededError):
        status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=_clip(str(error)))
        violation = error_details_pb2.QuotaFailure.Violation(
            subject=error.subject[:300], description=_clip(str(error), 500)
        )
        status.details.add().Pack(error_details_pb2.QuotaFailure(violations=[violation]))
        return status
    simple: list[tuple[type[BaseException], int]] = [
        (JobFinishedError, code_pb2.FAILED_PRECONDITION),
        (JobNotFoundError, code_pb2.NOT_FOUND),
        (SearchCancelled, code_pb2.CANCELLED),
        (DeadlineExceededError, code_pb2.DEADLINE_EXCEEDED),
        (StoreUnavailableError, code_pb2.UNAVAILABLE),
        (WorkerDiedError, code_pb2.UNAVAILABLE),
    ]
    for kind, code in simple:
        if isinstance(error, kind):
            return status_pb2.Status(code=code, message=_clip(str(error)))
    store_fault = _store_fault(error)
    if store_fault is not None:
        return status_pb2.Status(code=code_pb2.UNAVAILABLE, message=_clip(store_fault))
    _log.exception("internal error", exc_info=error)
    return status_pb2.Status(
        code=code_pb2.INTERNAL, message=_clip(f"internal error: {type(error).__name__}: {error}")
    )


def _store_fault(error: BaseException) -> str | None:
    """The message for a database error that escaped the store's guard, else None.

    A job's Optuna study writes the database too (not through the job store), so its
    failures arrive as Optuna or SQLAlchemy errors: they are store faults all the same.
    """
    if not _may_be_database_error(error):
        return None
    from aalps.server.store_guard import Fault, classify  # imports SQLAlchemy

    if classify(error) is Fault.OTHER:
        return None
    orig = getattr(error, "orig", None) or error.__cause__ or error
    lines = str(orig).strip().splitlines()
    return "the job store is unreachable: " + (lines[0] if lines else type(orig).__name__)


def _may_be_database_error(error: BaseException) -> bool:
    """Whether ``error`` or its causes come from a database driver (cheap, no imports)."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        module = type(seen).__module__.split(".")[0]
        if module in ("sqlalchemy", "sqlite3", "psycopg", "optuna"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _bad_request(violations: Sequence[FieldViolation]) -> status_pb2.Status:
    shown, size = [], 0
    for v in violations:
        item = error_details_pb2.BadRequest.FieldViolation(
            field=v.field[:300], description=v.description[:500]
        )
        size += item.ByteSize() + 4
        if size > MAX_DETAIL_BYTES:
            break
        shown.append(item)
    hidden = len(violations) - len(shown)
    if hidden:
        shown.append(
            error_details_pb2.BadRequest.FieldViolation(
                field="", description=f"... and {hidden} more violations"
            )
        )
    message = f"invalid request: {len(violations)} violation(s); first: {violations[0]}"
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=_clip(message))
    status.details.add().Pack(error_details_pb2.BadRequest(field_violations=shown))
    return status


def _search_limit(error: SearchLimitError, detail_bytes: int | None) -> status_pb2.Status:
    """DEADLINE_EXCEEDED naming the limit, with the partial result when it fits."""
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

    message = str(error)
    info = error_details_pb2.ErrorInfo(
        reason=SEARCH_LIMIT_REASON, domain="aalps", metadata={"limit": error.limit}
    )
    partial = (
        pb.OptimizeResponse.FromString(error.partial_response) if error.partial_response else None
    )
    if partial is not None and detail_bytes is not None and partial.ByteSize() > detail_bytes:
        for name in ("pareto_front", "crossovers", "separation", "asymptotic_plan", "baseline"):
            partial.ClearField(name)
        if partial.ByteSize() > detail_bytes:
            partial = None
            message += " (the best plan found is too large for the error details)"
    status = status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message=_clip(message))
    status.details.add().Pack(info)
    if partial is not None:
        status.details.add().Pack(partial)
    return status


def _infeasible(message: str, reasons: Sequence[FieldViolation]) -> status_pb2.Status:
    violations = [
        error_details_pb2.PreconditionFailure.Violation(
            type=INFEASIBLE_TYPE, subject=r.field[:300], description=r.description[:500]
        )
        for r in reasons[:50]
    ]
    status = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=_clip(message))
    status.details.add().Pack(error_details_pb2.PreconditionFailure(violations=violations))
    return status


def _clip(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- handler decorators -------------------------------------------------------------------

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Self = TypeVar("Self")


async def abort_with(
    context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status
) -> None:
    """End the call with ``status``, its rich details in the trailing metadata. Raises.

    The code and message are set on the context before ``context.abort`` (not
    ``abort_with_status``, which bypasses a wrapping context): interceptors, the metrics and
    OpenTelemetry read the real code from the context or their wrapper's ``abort``.
    """
    sent = rpc_status.to_status(status)
    context.set_code(sent.code)
    context.set_details(sent.details)
    await context.abort(sent.code, sent.details, sent.trailing_metadata)


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
    await abort_with(context, status_for(error))


def rpc_errors(
    method: Callable[[Self, Req, grpc.aio.ServicerContext[Req, Resp]], Awaitable[Resp]],
) -> Callable[[Self, Req, grpc.aio.ServicerContext[Req, Resp]], Awaitable[Resp]]:
    """Make a unary handler report domain errors as their status (see the module table)."""

    @functools.wraps(method)
    async def handler(
        self: Self, request: Req, context: grpc.aio.ServicerContext[Req, Resp]
    ) -> Resp:
        try:
            return await method(self, request, context)
        except Exception as error:  # noqa: BLE001 - every error becomes a status
            if isinstance(error, grpc.aio.AbortError):
                raise
            await _abort(context, error)
            raise AssertionError("unreachable: abort raises") from error

    return handler


def rpc_stream_errors(
    method: Callable[[Self, Req, grpc.aio.ServicerContext[Req, Resp]], AsyncIterator[Resp]],
) -> Callable[[Self, Req, grpc.aio.ServicerContext[Req, Resp]], AsyncIterator[Resp]]:
    """As :func:`rpc_errors`, for server-streaming handlers (async generators)."""

    @functools.wraps(method)
    async def handler(
        self: Self, request: Req, context: grpc.aio.ServicerContext[Req, Resp]
    ) -> AsyncIterator[Resp]:
        try:
            async for item in method(self, request, context):
                yield item
        except Exception as error:  # noqa: BLE001 - every error becomes a status
            if isinstance(error, grpc.aio.AbortError):
                raise
            await _abort(context, error)

    return handler
