"""What the client returns: frozen domain records, not protobuf messages.

The search and analysis reports live in :mod:`aalps.client.reports` (re-exported here);
this module adds progress, jobs and batch entries, which may carry errors.

Each record is built from its wire message by one function (``*_from_proto``), whether the
message came from a server or from the in-process backend, so a report looks the same
over either transport. Reports keep the message they were built from (``.message``) and
give its JSON form (``.to_dict()``, proto field names), which is what ``--format json``
prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aalps.client.errors import AalpsClientError, error_from_status
from aalps.client.reports import (
    AnalysisReport,
    CrossoverReport,
    OptimizeReport,
    PlanReport,
    RoleReport,
    SearchStatsReport,
    SeparationReport,
    TaskReport,
    analysis_report_from_proto,
    crossover_from_proto,
    optimize_report_from_proto,
    plan_from_proto,
    separation_from_proto,
    task_from_proto,
)
from aalps.client.reports import to_dict as _to_dict
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from aalps.job_state import JobState

__all__ = [
    "AnalysisReport",
    "BatchItem",
    "CrossoverReport",
    "JobInfo",
    "OptimizeReport",
    "PlanReport",
    "Progress",
    "RoleReport",
    "SearchStatsReport",
    "SeparationReport",
    "TaskReport",
    "analysis_report_from_proto",
    "batch_item_from_proto",
    "crossover_from_proto",
    "job_from_proto",
    "optimize_report_from_proto",
    "plan_from_proto",
    "separation_from_proto",
    "task_from_proto",
]


@dataclass(frozen=True)
class Progress:
    """A progress update of a search: trials so far, trials planned, best cost so far.

    ``best_expected_cost`` is None until a feasible plan is known.
    """

    trials_done: int
    n_trials: int
    best_expected_cost: float | None


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of a job: progress, and the result or the error once final.

    ``best_expected_cost`` is None until the job knows a plan (a PENDING job has none).
    """

    job_id: str
    state: JobState
    trials_done: int
    n_trials: int
    best_expected_cost: float | None
    result: OptimizeReport | None
    error: AalpsClientError | None
    create_time: datetime | None
    update_time: datetime | None
    message: pb.Job = field(repr=False, compare=False)

    @property
    def done(self) -> bool:
        """True once the job is SUCCEEDED, FAILED or CANCELLED."""
        return self.state.final

    def to_dict(self) -> dict[str, Any]:
        """The job message's JSON form (proto field names)."""
        return _to_dict(self.message)


@dataclass(frozen=True)
class BatchItem:
    """The outcome of the ``index``-th request of a batch: a report or an error."""

    index: int
    report: OptimizeReport | None
    error: AalpsClientError | None
    message: pb.BatchOptimizeResponse = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The entry's JSON form (proto field names)."""
        return _to_dict(self.message)


def _time(stamp: Timestamp) -> datetime | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def job_from_proto(message: pb.Job) -> JobInfo:
    return JobInfo(
        job_id=message.job_id,
        state=JobState(pb.JobState.Name(message.state)),
        trials_done=message.trials_done,
        n_trials=message.n_trials,
        best_expected_cost=(
            message.best_expected_cost if message.HasField("best_expected_cost") else None
        ),
        result=optimize_report_from_proto(message.result) if message.HasField("result") else None,
        error=error_from_status(message.error) if message.HasField("error") else None,
        create_time=_time(message.create_time),
        update_time=_time(message.update_time),
        message=message,
    )


def batch_item_from_proto(message: pb.BatchOptimizeResponse) -> BatchItem:
    outcome = message.WhichOneof("outcome")
    return BatchItem(
        index=message.index,
        report=optimize_report_from_proto(message.result) if outcome == "result" else None,
        error=error_from_status(message.error) if outcome == "error" else None,
        message=message,
    )
