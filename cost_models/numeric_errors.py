"""The last line of defence of numeric evaluation: an arithmetic failure names its field.

Request expressions are bounded when they are read (:mod:`aalps.cost_models.magnitudes`), so
evaluating a plan should never overflow, divide by zero or run out of memory. Should a
formula still fail on some corner of a request, the caller must see an
:class:`~aalps.cost_models.errors.InvalidRequestError` naming the part of the request at
fault (the service answers INVALID_ARGUMENT), never a bare ``OverflowError`` (INTERNAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aalps.cost_models.errors import InvalidRequestError

__all__ = ["NUMERIC_FAILURES", "numeric_errors", "numeric_failure"]

#: What a numeric formula can raise on a value it cannot handle.
NUMERIC_FAILURES = (ArithmeticError, ValueError, TypeError, MemoryError, RecursionError)


@contextmanager
def numeric_errors(field: str, what: str) -> Iterator[None]:
    """Turn a numeric failure inside the block into an :class:`InvalidRequestError`.

    Parameters
    ----------
    field
        The request field at fault, e.g. ``graph.tasks[2]``.
    what
        What was being evaluated, for the message (``"the task's cost"``).
    """
    try:
        yield
    except InvalidRequestError:
        raise
    except NUMERIC_FAILURES as error:
        raise numeric_failure(field, what, error) from error


def numeric_failure(field: str, what: str, error: BaseException) -> InvalidRequestError:
    """The error :func:`numeric_errors` raises for ``error`` (for the hot paths that catch
    :data:`NUMERIC_FAILURES` themselves: a generator context manager costs microseconds)."""
    return InvalidRequestError.single(
        field, f"{what} cannot be evaluated numerically ({type(error).__name__})"
    )
