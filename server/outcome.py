"""What a search process hands back: a serialized response, or a domain error as data.

Exceptions whose ``__init__`` takes records (``InvalidRequestError(violations)``) do not
survive pickling across processes, so a worker catches the domain errors of its call into
an :class:`Outcome`, and the server re-raises them with :meth:`Outcome.unwrap`, where
:mod:`aalps.server.status` maps them to status codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aalps.cost_models.errors import FieldViolation, InfeasibleError, InvalidRequestError
from aalps.server.errors import DeadlineExceededError, SearchLimitError
from aalps.server.limits import Limits

__all__ = ["Limits", "Outcome", "as_outcome", "pairs"]


@dataclass(frozen=True)
class Outcome:
    """What a worker hands back: a serialized response, or an error as plain data.

    Attributes
    ----------
    response
        The serialized response message when ``error`` is "".
    error
        "", or one of "invalid", "infeasible", "cancelled", "deadline", "limit"
        (a server time limit stopped the search: ``response`` is the partial result,
        ``limit`` names the limit).
    violations
        (field, description) pairs of an invalid or infeasible request.
    message
        The error's message.
    n_trials
        Trials the request asks for (from validation).
    limit
        The :class:`Limits` field that stopped the search (error "limit").
    """

    response: bytes = b""
    error: str = ""
    violations: tuple[tuple[str, str], ...] = ()
    message: str = ""
    n_trials: int = 0
    limit: str = ""

    def unwrap(self) -> bytes:
        """The response, or the domain error re-raised in the calling process."""
        items = [FieldViolation(f, d) for f, d in self.violations]
        if self.error == "invalid":
            raise InvalidRequestError(items)
        if self.error == "infeasible":
            raise InfeasibleError(items)
        if self.error == "cancelled":
            from aalps.optimizer import SearchCancelled

            raise SearchCancelled(self.message or "the search was cancelled")
        if self.error == "limit":
            raise SearchLimitError(self.message, limit=self.limit, partial=self.response)
        if self.error == "deadline":
            raise DeadlineExceededError(self.message or "deadline exceeded")
        return self.response


@contextmanager
def as_outcome() -> Iterator[list[Outcome]]:
    """Catch the domain errors of a call into an Outcome (appended to the yielded list)."""
    from aalps.optimizer import SearchCancelled

    box: list[Outcome] = []
    try:
        yield box
    except InvalidRequestError as error:
        box.append(Outcome(error="invalid", violations=pairs(error.violations)))
    except InfeasibleError as error:
        box.append(Outcome(error="infeasible", violations=pairs(error.reasons), message=str(error)))
    except SearchCancelled as error:
        box.append(Outcome(error="cancelled", message=str(error)))
    except SearchLimitError as error:
        box.append(
            Outcome(
                error="limit",
                message=str(error),
                limit=error.limit,
                response=error.partial_response,
            )
        )
    except DeadlineExceededError as error:
        box.append(Outcome(error="deadline", message=str(error)))


def pairs(items: tuple[FieldViolation, ...]) -> tuple[tuple[str, str], ...]:
    """(field, description) pairs: violations as plain data."""
    return tuple((v.field, v.description) for v in items)
