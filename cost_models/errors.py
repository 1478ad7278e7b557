"""Domain errors: every rejection of user input names the field it is about.

The service maps :class:`InvalidRequestError` to ``INVALID_ARGUMENT`` with one
``google.rpc.BadRequest.FieldViolation`` per :class:`FieldViolation`; the CLI prints them.
Field paths use the proto field names, e.g. ``graph.tasks[2].blocks.count``.

This is the one error hierarchy of aalps: :class:`AalpsError` is its root. The errors a
caller sees (:class:`AalpsClientError` and its subclasses in :mod:`aalps.client.errors`)
derive from it, and cancellation (:class:`CancelledError`) and a passed deadline
(:class:`DeadlineExceededError`) are defined here once: the optimizer and the service raise
them, and the client returns the same classes for a CANCELLED or DEADLINE_EXCEEDED status.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

if TYPE_CHECKING:
    import grpc


@dataclass(frozen=True)
class FieldViolation:
    """One thing wrong with one field of a request."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class AalpsError(Exception):
    """Base class of every error aalps raises on purpose (domain, service and client)."""


class InvalidRequestError(AalpsError, ValueError):
    """A request (or a plan, or an expression) is malformed; carries every violation found."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        if not self.violations:
            raise ValueError("InvalidRequestError needs at least one violation")
        super().__init__("; ".join(str(v) for v in self.violations))

    @classmethod
    def single(cls, field: str, description: str) -> InvalidRequestError:
        return cls([FieldViolation(field, description)])


class ExpressionError(InvalidRequestError):
    """An expression field failed the whitelisting parser."""

    def __init__(self, field: str, description: str) -> None:
        self.field = field
        self.description = description
        super().__init__([FieldViolation(field, description)])


class InfeasibleError(AalpsError):
    """No plan satisfies the request; ``reasons`` says why, per task (or for the whole plan)."""

    def __init__(self, reasons: Iterable[FieldViolation]) -> None:
        self.reasons: tuple[FieldViolation, ...] = tuple(reasons)
        super().__init__("no feasible plan: " + "; ".join(str(r) for r in self.reasons))


class SearchBudgetExhaustedError(InfeasibleError):
    """The search budget (trials or time) ran out before any plan met the constraints.

    A plan may still exist: the server answers DEADLINE_EXCEEDED instead when the budget
    was the caller's deadline, FAILED_PRECONDITION when it was the request's own.
    """


class Violation(NamedTuple):
    """One problem with one field (or, for preconditions, one subject such as a task)."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class AalpsClientError(AalpsError):
    """Base class of every error a caller of aalps sees: a status code, a message, violations.

    The client raises its subclasses (:mod:`aalps.client.errors`); the two that the
    optimizer and the service raise as well, :class:`CancelledError` and
    :class:`DeadlineExceededError`, are defined below, so that one class means one failure
    everywhere.

    Attributes
    ----------
    code_name
        The name of the gRPC status code the failure corresponds to.
    message
        The server's (or the domain error's) message.
    violations
        The per-field or per-subject problems, if any.
    """

    code_name: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str, violations: Iterable[tuple[str, str]] = ()) -> None:
        self.message = message
        self.violations: tuple[Violation, ...] = tuple(Violation(f, d) for f, d in violations)
        super().__init__(message)

    @property
    def status_code(self) -> grpc.StatusCode:
        """The gRPC status code of this instance (the generic class keeps the server's code)."""
        import grpc

        return grpc.StatusCode[self.code_name]

    @property
    def code(self) -> grpc.StatusCode:
        """The same as :attr:`status_code`."""
        return self.status_code


class CancelledError(AalpsClientError):
    """The search, the call or the job was cancelled (before any feasible plan was known).

    The optimizer raises it when ``should_stop()`` turns true before a plan is found (its
    old name ``SearchCancelled`` is the same class); the client raises it for a CANCELLED
    status.
    """

    code_name = "CANCELLED"


class DeadlineExceededError(AalpsClientError, TimeoutError):
    """The call's deadline passed before the search (or the server) produced an answer.

    When a server time limit (``max_search_seconds``) stopped a search that had found a
    plan, ``partial`` holds it (the client's ``OptimizeReport``); otherwise None.
    """

    code_name = "DEADLINE_EXCEEDED"
    partial: Any = None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the choices closest to a misspelt ``word``; "" if none is.

    Every "unknown name" message (fields, enum values, symbols, capabilities, models, task
    ids) ends with it, so a typo is fixed from the message alone.
    """
    close = difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=3, cutoff=0.6)
    if not close:
        return ""

    def ratio(choice: str) -> float:
        return difflib.SequenceMatcher(None, word, choice).ratio()

    best = ratio(close[0])  # only the closest (and any as close): one clear suggestion
    return "did you mean " + " or ".join(repr(c) for c in close if ratio(c) >= best) + "?"


class Violations:
    """Collects violations while a request is validated, so that all are reported at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def extend(self, error: InvalidRequestError) -> None:
        self.items.extend(error.violations)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidRequestError(self.items)


__all__ = [
    "AalpsClientError",
    "AalpsError",
    "CancelledError",
    "DeadlineExceededError",
    "ExpressionError",
    "FieldViolation",
    "InfeasibleError",
    "InvalidRequestError",
    "SearchBudgetExhaustedError",
    "Violation",
    "Violations",
    "did_you_mean",
]
