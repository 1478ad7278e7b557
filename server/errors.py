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


__all__ = ["DeadlineExceededError", "JobNotFoundError", "WorkerDiedError"]
