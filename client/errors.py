"""Typed errors of the aalps client, whatever the transport.

A remote call fails with a ``grpc.RpcError`` whose rich status (``google.rpc.Status``)
carries ``BadRequest`` or ``PreconditionFailure`` details; an in-process call fails with a
domain error from ``cost_models``. Both become the same :class:`AalpsClientError`
subclass here, so code written against the client never imports grpc to handle failures.
Every one of them is an :class:`~aalps.cost_models.errors.AalpsError`; the base class, and
:class:`CancelledError` and :class:`DeadlineExceededError` (which the optimizer and the
service raise too), are defined once in :mod:`aalps.cost_models.errors` and imported here:

>>> try:
...     client.optimize("bad.yaml")                          # doctest: +SKIP
... except InvalidArgumentError as error:
...     for field, description in error.violations:
...         print(field, description)

The other direction (:func:`status_from_error`) lets the in-process backend report a
failed batch entry or job exactly as the server does, as a ``google.rpc.Status``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aalps.cost_models.errors import (
    AalpsClientError,
    CancelledError,
    DeadlineExceededError,
    Violation,
)

if TYPE_CHECKING:  # grpc and protobuf are imported where needed (not for `aalps --help`)
    import grpc
    from google.rpc import status_pb2

#: The ``PreconditionFailure.Violation.type`` that marks an infeasible request.
INFEASIBLE_TYPE = "INFEASIBLE"


class InvalidArgumentError(AalpsClientError):
    """The request (or plan, or input file) is malformed; ``violations`` names each field."""

    code_name = "INVALID_ARGUMENT"

    def __init__(self, violations: Iterable[tuple[str, str]], message: str | None = None) -> None:
        items = tuple(Violation(f, d) for f, d in violations)
        super().__init__(message or "; ".join(str(v) for v in items) or "invalid argument", items)


class FailedPreconditionError(AalpsClientError):
    """The request is well-formed but cannot be served in the current state."""

    code_name = "FAILED_PRECONDITION"


class InfeasibleRequestError(FailedPreconditionError):
    """No plan satisfies the request; ``reasons`` says why, per task or for the whole plan."""

    def __init__(self, reasons: Iterable[tuple[str, str]], message: str | None = None) -> None:
        items = tuple(Violation(f, d) for f, d in reasons)
        text = message or "no feasible plan: " + "; ".join(str(r) for r in items)
        super().__init__(text, items)

    @property
    def reasons(self) -> tuple[Violation, ...]:
        """The same as ``violations``: (task or field, why) pairs."""
        return self.violations


class NotFoundError(AalpsClientError):
    """The job does not exist (or belongs to another caller)."""

    code_name = "NOT_FOUND"


class UnauthenticatedError(AalpsClientError):
    """The server wants a bearer token and got none, or an unknown one."""

    code_name = "UNAUTHENTICATED"


class UnavailableError(AalpsClientError):
    """The server cannot be reached (down, wrong address, or shutting down)."""

    code_name = "UNAVAILABLE"


class ResourceExhaustedError(AalpsClientError):
    """A server limit on the caller was reached (e.g. ``max_active_jobs``); ``violations``
    names each limit (subject) and why."""

    code_name = "RESOURCE_EXHAUSTED"


class _OtherError(AalpsClientError):
    """Any other status code: keeps the code it was built from."""

    def __init__(self, code_name: str, message: str) -> None:
        super().__init__(message)
        self._code_name = code_name

    @property
    def status_code(self) -> grpc.StatusCode:
        import grpc

        return grpc.StatusCode[self._code_name]


_BY_CODE: dict[str, type[AalpsClientError]] = {
    cls.code_name: cls
    for cls in (
        NotFoundError,
        UnauthenticatedError,
        DeadlineExceededError,
        CancelledError,
        UnavailableError,
    )
}


def _code_name(number: int) -> str:
    """The name of the gRPC status code ``number`` (UNKNOWN for a number gRPC lacks)."""
    import grpc

    return next((c.name for c in grpc.StatusCode if c.value[0] == number), "UNKNOWN")


def error_from_status(status: status_pb2.Status) -> AalpsClientError:
    """The typed error for a ``google.rpc.Status`` (a failed call, batch entry or job)."""
    from google.rpc import error_details_pb2

    code = _code_name(status.code)
    field_violations: list[tuple[str, str]] = []
    preconditions: list[tuple[str, str, str]] = []
    quota: list[tuple[str, str]] = []
    partial: Any = None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field_violations += [(v.field, v.description) for v in bad.field_violations]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            preconditions += [(v.type, v.subject, v.description) for v in failure.violations]
        elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            failure = error_details_pb2.QuotaFailure()
            detail.Unpack(failure)
            quota += [(v.subject, v.description) for v in failure.violations]
        elif code == "DEADLINE_EXCEEDED" and detail.TypeName() == "aalps.v1.OptimizeResponse":
            partial = _partial_report(detail)
    if code == "RESOURCE_EXHAUSTED":
        return ResourceExhaustedError(status.message, quota)
    error = _error_for(code, status.message, field_violations, preconditions)
    if isinstance(error, DeadlineExceededError):
        error.partial = partial
    return error


def _partial_report(detail: Any) -> Any:
    """The client's report of a partial result packed in a status (the best plan so far)."""
    from aalps.client.reports import optimize_report_from_proto
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

    response = pb.OptimizeResponse()
    detail.Unpack(response)
    return optimize_report_from_proto(response)


def _error_for(
    code: str,
    message: str,
    field_violations: list[tuple[str, str]],
    preconditions: list[tuple[str, str, str]],
) -> AalpsClientError:
    if code == "INVALID_ARGUMENT":
        return InvalidArgumentError(field_violations or [("", message)], message)
    if code == "FAILED_PRECONDITION":
        reasons = [(subject, description) for _, subject, description in preconditions]
        if any(kind.upper() == INFEASIBLE_TYPE for kind, _, _ in preconditions):
            return InfeasibleRequestError(reasons, message)
        return FailedPreconditionError(message, reasons)
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls(message)
    return _OtherError(code, message)


def error_from_rpc(error: grpc.RpcError) -> AalpsClientError:
    """The typed error for a failed gRPC call (sync or ``grpc.aio``), rich details parsed."""
    from grpc_status import rpc_status

    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError):  # details disagree with the call's code
        status = None
    if status is not None:
        return error_from_status(status)
    code = error.code().name if hasattr(error, "code") else "UNKNOWN"
    details = error.details() if hasattr(error, "details") else str(error)
    return _error_for(code, details or code, [], [])


def error_from_domain(error: Exception) -> AalpsClientError | None:
    """The typed error for a domain error raised in process, or None for anything else.

    Mirrors what the server sends for the same failure, so in-process and remote callers
    catch the same classes.
    """
    from aalps.cost_models.errors import AalpsError, InfeasibleError, InvalidRequestError

    if isinstance(error, AalpsClientError):  # cancelled, deadline: already the client's class
        return error
    if isinstance(error, InvalidRequestError):
        return InvalidArgumentError([(v.field, v.description) for v in error.violations])
    if isinstance(error, InfeasibleError):
        return InfeasibleRequestError([(r.field, r.description) for r in error.reasons])
    if isinstance(error, AalpsError):
        return _OtherError("INTERNAL", str(error))
    return None


def internal_error(error: BaseException) -> AalpsClientError:
    """An unexpected failure (a bug) of one batch entry or job, reported as INTERNAL."""
    return _OtherError("INTERNAL", f"{type(error).__name__}: {error}")


def status_from_error(error: AalpsClientError) -> status_pb2.Status:
    """The ``google.rpc.Status`` the server would send for ``error`` (rich details packed)."""
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status(code=error.status_code.value[0], message=error.message)
    if isinstance(error, InvalidArgumentError):
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                for f, d in error.violations
            ]
        )
        status.details.add().Pack(bad)
    elif isinstance(error, FailedPreconditionError) and error.violations:
        kind = INFEASIBLE_TYPE if isinstance(error, InfeasibleRequestError) else ""
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(type=kind, subject=s, description=d)
                for s, d in error.violations
            ]
        )
        status.details.add().Pack(failure)
    return status


def strip_field_prefix(status: status_pb2.Status, prefix: str) -> None:
    """Make ``status``'s field paths relative to one batch entry (``requests[3].`` removed).

    The server names fields within the whole batch; a batch item, which already says its
    index, names them within its own request, as a single call would.
    """
    from google.rpc import error_details_pb2

    status.message = status.message.replace(prefix, "")
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for violation in bad.field_violations:
                if violation.field.startswith(prefix):
                    violation.field = violation.field[len(prefix) :]
            detail.Pack(bad)


__all__ = [
    "AalpsClientError",
    "CancelledError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InfeasibleRequestError",
    "InvalidArgumentError",
    "NotFoundError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "Violation",
    "error_from_domain",
    "error_from_rpc",
    "error_from_status",
    "internal_error",
    "status_from_error",
    "strip_field_prefix",
]
