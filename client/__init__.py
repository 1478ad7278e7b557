"""The aalps client: a typed Python API and the ``aalps`` command-line tool.

The same :class:`Client` runs against an in-process optimizer (``Client.in_process()``) or
an aalps server (``Client.remote("host:port", token=...)``) and returns frozen report
records; failures are :class:`AalpsClientError` subclasses. :class:`AsyncClient` is the
``grpc.aio`` variant for remote servers.

Names are imported on first use, so that ``aalps --help`` and the in-process commands do
not import grpc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aalps._lazy import lazy_exports

if TYPE_CHECKING:
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
        ResourceExhaustedError,
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

_EXPORTS = {
    "AsyncClient": "aalps.client.aio",
    "Client": "aalps.client.client",
    "AalpsClientError": "aalps.client.errors",
    "CancelledError": "aalps.client.errors",
    "DeadlineExceededError": "aalps.client.errors",
    "FailedPreconditionError": "aalps.client.errors",
    "InfeasibleRequestError": "aalps.client.errors",
    "InvalidArgumentError": "aalps.client.errors",
    "NotFoundError": "aalps.client.errors",
    "ResourceExhaustedError": "aalps.client.errors",
    "UnauthenticatedError": "aalps.client.errors",
    "UnavailableError": "aalps.client.errors",
    "Violation": "aalps.client.errors",
    "AnalysisReport": "aalps.client.results",
    "BatchItem": "aalps.client.results",
    "CrossoverReport": "aalps.client.results",
    "JobInfo": "aalps.client.results",
    "JobState": "aalps.client.results",
    "OptimizeReport": "aalps.client.results",
    "PlanReport": "aalps.client.results",
    "Progress": "aalps.client.results",
    "RoleReport": "aalps.client.results",
    "SearchStatsReport": "aalps.client.results",
    "SeparationReport": "aalps.client.results",
    "TaskReport": "aalps.client.results",
}

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
    "ResourceExhaustedError",
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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
