"""Errors the service raises beside the domain's own (``aalps.cost_models.errors``).

Each maps to one status code in :mod:`aalps.server.status`; none carries protobuf. A search
stopped before any feasible plan raises the one cancel error,
:class:`aalps.cost_models.errors.CancelledError` (the optimizer's ``SearchCancelled``), and a
passed deadline the one :class:`~aalps.cost_models.errors.DeadlineExceededError`, re-exported
here: the client catches the very same classes.
"""

from __future__ import annotations

from aalps.cost_models.errors import DeadlineExceededError


class JobNotFoundError(LookupError):
    """No job with this id is visible to the caller (absent, or another caller's)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} not found")
        self.job_id = job_id


class WorkerDiedError(Exception):
    """The worker process running the search died (killed, or out of memory)."""


class SearchLimitError(DeadlineExceededError):
    """A search was stopped by one of the server's time limits (DEADLINE_EXCEEDED).

    Parameters
    ----------
    message
        Names the limit and its value (``search: did not finish within ...``).
    limit
        The :class:`~aalps.server.limits.Limits` field that stopped it.
    partial
        The serialized ``OptimizeResponse`` of the best plan found before the stop, or
        b"" when none was found: the status details carry it to the client (kept as
        ``partial_response``; the client's ``partial`` is the decoded report).
    """

    def __init__(self, message: str, *, limit: str, partial: bytes = b"") -> None:
        super().__init__(message)
        self.limit = limit
        self.partial_response = partial


class QuotaExceededError(Exception):
    """A caller has reached a per-owner limit (RESOURCE_EXHAUSTED, with a QuotaFailure).

    Parameters
    ----------
    subject
        Who hit it (``owner:<name>``).
    limit
        The limit's name, e.g. ``max_active_jobs``.
    message
        Says the limit and its value.
    """

    def __init__(self, subject: str, limit: str, message: str) -> None:
        super().__init__(message)
        self.subject = subject
        self.limit = limit


__all__ = [
    "DeadlineExceededError",
    "JobNotFoundError",
    "QuotaExceededError",
    "SearchLimitError",
    "WorkerDiedError",
]
