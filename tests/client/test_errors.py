"""Typed errors: from rich statuses, from domain errors, and back to statuses."""

from __future__ import annotations

import grpc
import pytest
from aalps.client.errors import (
    AalpsClientError,
    CancelledError,
    FailedPreconditionError,
    InfeasibleRequestError,
    InvalidArgumentError,
    NotFoundError,
    error_from_domain,
    error_from_status,
    status_from_error,
)
from aalps.cost_models.errors import FieldViolation, InfeasibleError, InvalidRequestError


def test_invalid_argument_round_trip() -> None:
    error = InvalidArgumentError([("graph.tasks[0].id", "is required"), ("catalog", "empty")])
    back = error_from_status(status_from_error(error))
    assert isinstance(back, InvalidArgumentError)
    assert back.violations == error.violations
    assert back.violations[0].field == "graph.tasks[0].id"
    assert tuple(back.violations[1]) == ("catalog", "empty")


def test_infeasible_round_trip() -> None:
    error = InfeasibleRequestError([("graph.tasks[0]", "no model can fly")])
    back = error_from_status(status_from_error(error))
    assert isinstance(back, InfeasibleRequestError)
    assert isinstance(back, FailedPreconditionError)
    assert back.reasons == error.reasons


def test_other_codes() -> None:
    for cls in (NotFoundError, CancelledError):
        back = error_from_status(status_from_error(cls("gone")))
        assert type(back) is cls and back.message == "gone"
    status = status_from_error(FailedPreconditionError("job is finished"))
    plain = error_from_status(status)
    assert type(plain) is FailedPreconditionError


def test_unlisted_code_keeps_it() -> None:
    from google.rpc import status_pb2

    error = error_from_status(status_pb2.Status(code=grpc.StatusCode.INTERNAL.value[0]))
    assert isinstance(error, AalpsClientError)
    assert error.status_code == grpc.StatusCode.INTERNAL


def test_domain_errors() -> None:
    invalid = error_from_domain(InvalidRequestError([FieldViolation("graph", "missing")]))
    assert isinstance(invalid, InvalidArgumentError)
    assert invalid.violations == (("graph", "missing"),)
    infeasible = error_from_domain(InfeasibleError([FieldViolation("graph.tasks[0]", "none")]))
    assert isinstance(infeasible, InfeasibleRequestError)
    assert error_from_domain(KeyError("x")) is None


def test_violation_text() -> None:
    with pytest.raises(InvalidArgumentError, match="a.b: bad"):
        raise InvalidArgumentError([("a.b", "bad")])


def test_a_search_limit_arrives_with_its_partial_plan() -> None:
    from aalps.proto.aalps.v1 import aalps_pb2 as pb
    from aalps.server.errors import SearchLimitError
    from aalps.server.status import status_for

    from aalps import DeadlineExceededError

    partial = pb.OptimizeResponse()
    task = partial.plan.tasks.add(task_id="debug", operator=pb.SCAN_AND_FIX)
    task.roles.add(role="detector", model="qa")
    partial.plan.expected_cost = 1234.5
    error = SearchLimitError(
        "search: did not finish within 3 s (max_search_seconds)",
        limit="max_search_seconds",
        partial=partial.SerializeToString(),
    )
    back = error_from_status(status_for(error))
    assert isinstance(back, DeadlineExceededError)
    assert back.status_code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert back.partial is not None
    assert back.partial.plan.expected_cost == 1234.5
    assert back.partial.plan.tasks[0].roles[0].model == "qa"
    plain = error_from_status(status_for(DeadlineExceededError("too late")))
    assert isinstance(plain, DeadlineExceededError) and plain.partial is None


def test_a_quota_is_resource_exhausted_naming_the_limit() -> None:
    from aalps.server.errors import QuotaExceededError
    from aalps.server.status import status_for

    from aalps import ResourceExhaustedError

    message = "has 100 active jobs; at most 100 are accepted (max_active_jobs)"
    error = QuotaExceededError("owner:alice", "max_active_jobs", message)
    back = error_from_status(status_for(error))
    assert isinstance(back, ResourceExhaustedError)
    assert back.status_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [v.field for v in back.violations] == ["owner:alice"]
    assert "max_active_jobs" in back.message
    assert back.violations[0].description == message
