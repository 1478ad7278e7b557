"""Errors the service raises beside the domain's own (``aalps.cost_models.errors``).

Each maps to one status code in :mod:`aalps.server.status`; none carries protobuf. A search
stopped before any feasible plan raises the optimizer's ``SearchCancelled`` (CANCELLED).
"""

from __future__ import annotations


class JobNotFoundError(LookupError):
    """No job with this id is visible to the caller (absent, or another caller's)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} not found")
        self.job_id = job_id


class DeadlineExceededError(TimeoutError):
    """The call's deadline passed before the search produced a plan."""


class WorkerDiedError(Exception):
    """The worker process running the search died (killed, or out of memory)."""
