"""The in-process batch in a pool of processes: the same results as one at a time, in this
process, and a failing request isolated in its own entry, even one whose process dies."""

from __future__ import annotations

import os
from typing import Any

import pytest
from aalps.client import Client, batch_pool
from aalps.client.errors import InfeasibleRequestError, InvalidArgumentError, UnavailableError
from aalps.client.in_process import InProcessBackend
from aalps.proto.aalps.v1 import aalps_pb2 as pb

from tests.client.conftest import bad_request, example_data
from tests.optimizer.random_requests import random_request_data


def _infeasible() -> dict[str, Any]:
    """k_task_routing with a cost budget no plan meets."""
    data = example_data("k_task_routing")
    data.setdefault("constraints", {})["max_cost"] = 1e-9
    return data


def _outcomes(processes: int, requests: list[Any]) -> dict[int, Any]:
    with Client(InProcessBackend(batch_processes=processes)) as client:
        return {item.index: item for item in client.batch(requests, timeout=None)}


def test_the_pool_returns_what_the_serial_batch_returns() -> None:
    requests: list[Any] = [
        "k_task_routing",
        "code_debugging",
        bad_request(),
        "evolutionary_optimization",
        _infeasible(),
    ]
    pooled, serial = _outcomes(2, requests), _outcomes(1, requests)
    assert sorted(pooled) == sorted(serial) == [0, 1, 2, 3, 4]
    for index in (0, 1, 3):
        a, b = pooled[index].report, serial[index].report
        assert a is not None and b is not None
        assert a.plan == b.plan and a.baseline == b.baseline
        assert a.separation == b.separation and a.crossovers == b.crossovers
    # The paper's bounds (DESIGN, README), independent of the path the search took.
    assert pooled[0].report.plan.bound_text == "m_s*n"
    assert pooled[3].report.plan.bound_text == "k*l**2*m_u"
    for index, kind in ((2, InvalidArgumentError), (4, InfeasibleRequestError)):
        assert isinstance(pooled[index].error, kind)
        assert type(pooled[index].error) is type(serial[index].error)
        assert str(pooled[index].error) == str(serial[index].error)
    assert any("graph.tasks[0]" in v.field for v in pooled[2].error.violations)


# --- item by item, and a process that dies ------------------------------------------------

#: ``search.seed`` of the request whose search process kills itself (:func:`_dying_entry`).
DYING_SEED = 987_654
_search_entry = batch_pool.search_entry  # the real one, whatever a test patches in later


def _dying_entry(request: bytes, *args: Any) -> bytes:
    """:func:`aalps.client.batch_pool.search_entry`, except that the request seeded
    :data:`DYING_SEED` kills its process (as the kernel's OOM killer would)."""
    if pb.OptimizeRequest.FromString(request).search.seed == DYING_SEED:
        os._exit(9)
    return _search_entry(request, *args)


def _comparable(item: Any) -> bytes:
    """A batch entry's response without its timing (``stats.seconds``), as bytes."""
    message = pb.OptimizeResponse()
    message.CopyFrom(item.report.message)
    message.stats.ClearField("seconds")
    return message.SerializeToString(deterministic=True)


def test_pool_entries_equal_serial_entries_on_seeded_random_requests() -> None:
    requests: list[Any] = [random_request_data(seed) for seed in range(1, 9)]
    pooled, serial = _outcomes(2, requests), _outcomes(1, requests)
    assert sorted(pooled) == sorted(serial) == list(range(8))
    for index in range(8):
        assert pooled[index].error is None and serial[index].error is None
        assert _comparable(pooled[index]) == _comparable(serial[index]), index


def test_a_process_that_dies_fails_its_entry_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    dying = example_data("k_task_routing")
    dying.setdefault("search", {})["seed"] = DYING_SEED
    requests: list[Any] = [
        "k_task_routing",
        "code_debugging",
        dying,
        "evolutionary_optimization",
        _infeasible(),
        "code_debugging",
    ]
    serial = _outcomes(1, requests)
    monkeypatch.setattr(batch_pool, "search_entry", _dying_entry)
    pooled = _outcomes(2, requests)
    assert sorted(pooled) == list(range(6))
    assert isinstance(pooled[2].error, UnavailableError)
    assert "died" in str(pooled[2].error)
    assert serial[2].error is None  # the request itself is fine: its process was killed
    for index in (0, 1, 3, 5):
        assert pooled[index].error is None, pooled[index].error
        assert _comparable(pooled[index]) == _comparable(serial[index])
    assert isinstance(pooled[4].error, InfeasibleRequestError)
    assert str(pooled[4].error) == str(serial[4].error)
