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
