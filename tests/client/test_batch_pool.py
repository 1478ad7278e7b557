"""The in-process batch in a pool of processes: the same results as one at a time, in this
process, and a failing request isolated in its own entry."""

from __future__ import annotations

from typing import Any

from aalps.client import Client
from aalps.client.errors import InfeasibleRequestError, InvalidArgumentError
from aalps.client.in_process import InProcessBackend

from tests.client.conftest import bad_request, example_data


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
