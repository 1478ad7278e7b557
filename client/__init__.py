"""The aalps client: a typed Python API and the ``aalps`` command-line tool.

The same :class:`Client` runs against an in-process optimizer (``Client.in_process()``) or
an aalps server (``Client.remote("host:port", token=...)``) and returns frozen report
records; failures are :class:`AalpsClientError` subclasses. :class:`AsyncClient` is the
``grpc.aio`` variant for remote servers.
"""

from __future__ import annotations

from aalps.client.aio import AsyncClient
from aalps.client.client import Client
from aalps.client.errors import (
    AalpsClientError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    InfeasibleRequestError,
    InvalidArgumentError,
    NotFoundError,
    UnauthenticatedError,
    UnavailableError,
    Violation,
)
from aalps.client.results import (
    AnalysisReport,
    BatchItem,
    CrossoverReport,
    JobInfo,
    JobState,
    OptimizeReport,
    PlanReport,
    Progress,
    RoleReport,
    SearchStatsReport,
    SeparationReport,
    TaskReport,
)

__all__ = [
    "AalpsClientError",
    "AnalysisReport",
    "AsyncClient",
    "BatchItem",
    "CancelledError",
    "Client",
    "CrossoverReport",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InfeasibleRequestError",
    "InvalidArgumentError",
    "JobInfo",
    "JobState",
    "NotFoundError",
    "OptimizeReport",
    "PlanReport",
    "Progress",
    "RoleReport",
    "SearchStatsReport",
    "SeparationReport",
    "TaskReport",
    "UnauthenticatedError",
    "UnavailableError",
    "Violation",
]
