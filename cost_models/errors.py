"""Domain errors: every rejection of user input names the field it is about.

The service maps :class:`InvalidRequestError` to ``INVALID_ARGUMENT`` with one
``google.rpc.BadRequest.FieldViolation`` per :class:`FieldViolation`; the CLI prints them.
Field paths use the proto field names, e.g. ``graph.tasks[2].blocks.count``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One thing wrong with one field of a request."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class AalpsError(Exception):
    """Base class of every error aalps raises on purpose."""


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
