"""Job records <-> ``aalps.v1.Job`` messages: the service's records as the wire shows them.

Requests, plans and results convert in :mod:`aalps.proto.convert`; a job stores them as
JSON text, parsed back here. ``best_expected_cost`` has field presence: it is set only once
the job knows a plan, so a PENDING job never shows a best cost of 0.
"""

from __future__ import annotations

from aalps.cost_models.errors import InvalidRequestError
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.server.store import JobRecord, JobState
from google.protobuf import json_format

__all__ = ["job_state_from_proto", "job_to_proto"]


def job_state_from_proto(state: int) -> JobState | None:
    """A ListJobs filter: None for JOB_STATE_UNSPECIFIED, else the domain state."""
    if state == pb.JOB_STATE_UNSPECIFIED:
        return None
    if state not in pb.JobState.values():
        raise InvalidRequestError.single("state", f"unknown job state {state}")
    return JobState(pb.JobState.Name(state))  # type: ignore[arg-type]


def job_to_proto(job: JobRecord, *, with_request: bool = False) -> pb.Job:
    """A stored job as the wire shows it: result and error parsed back from their JSON."""
    message = pb.Job(
        job_id=job.job_id,
        state=pb.JobState.Value(job.state.value),
        trials_done=job.trials_done,
        n_trials=job.n_trials,
    )
    if job.best_expected_cost is not None:  # unset until a plan is known: never a false 0
        message.best_expected_cost = job.best_expected_cost
    message.create_time.FromDatetime(job.create_time)
    message.update_time.FromDatetime(job.update_time)
    if job.result_json:
        json_format.Parse(job.result_json, message.result, ignore_unknown_fields=True)
    if job.error_code:
        message.error.code = job.error_code
        message.error.message = job.error_message
    if with_request:
        json_format.Parse(job.request_json, message.request, ignore_unknown_fields=True)
    return message
