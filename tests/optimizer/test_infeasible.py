"""Acceptance 3: infeasible and degenerate requests name every task and constraint at fault."""

from __future__ import annotations

from typing import Any

import pytest
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize


def _request(tasks: list[dict[str, Any]], models: list[dict[str, Any]], **extra: Any) -> Any:
    return load_request(
        {
            "graph": {"parameters": [{"name": "n", "value": 1000}], "tasks": tasks},
            "catalog": {"models": models},
            **extra,
        }
    )


def _reasons(request: Any) -> dict[str, str]:
    with pytest.raises(InfeasibleError) as caught:
        optimize(request)
    return {r.field: r.description for r in caught.value.reasons}


SOLVER = {"name": "solver", "size": 10**9, "capabilities": {"solve": 0.9}}


def test_no_capable_model_names_each_task() -> None:
    tasks = [
        {"id": "ok", "capability": "solve", "input_tokens": "n"},
        {"id": "fix", "capability": "fix_bug", "input_tokens": "n"},
        {"id": "plan", "capability": "plan_trip", "input_tokens": "n"},
    ]
    reasons = _reasons(_request(tasks, [SOLVER]))
    assert reasons == {
        "graph.tasks[1]": "fix: no model has capability fix_bug",
        "graph.tasks[2]": "plan: no model has capability plan_trip",
    }


def test_reasons_of_every_operator_are_aggregated() -> None:
    task = {
        "id": "debug",
        "capability": "fix_bug",
        "role_capabilities": {"detector": "find_bug"},
        "input_tokens": "n",
        "blocks": {"count": 10, "size": 100},
        "defects": {"count": 2},
    }
    reasons = _reasons(_request([task], [SOLVER]))
    text = reasons["graph.tasks[0]"]
    assert text.startswith("debug: ")
    assert "no model has capability fix_bug (DIRECT, MAP" in text
    assert "no model has capability find_bug" in text


def test_every_window_too_small() -> None:
    task = {
        "id": "count",
        "capability": "count_chars",
        "input_tokens": "n",
        "prompt_tokens": 9000,
        "chunkable": {"aggregate_tokens": 4},
    }
    model = {
        "name": "small",
        "size": 10**9,
        "context_window": 8192,
        "capabilities": {"count_chars": 1.0},
    }
    text = _reasons(_request([task], [model]))["graph.tasks[0]"]
    assert text.startswith("count: ")
    assert "chunk of 1 + prompt 9000 exceeds every context window (largest 8192)" in text
    assert "context window" in text.split(";")[0]  # DIRECT's reason is there too


def test_per_variant_models_serve_only_as_specialists() -> None:
    model = {"name": "spec", "size": 10**9, "per_variant": True, "capabilities": {"solve": 1.0}}
    text = _reasons(_request([{"id": "t", "capability": "solve", "input_tokens": "n"}], [model]))
    assert "only per-variant models (spec)" in text["graph.tasks[0]"]


def test_success_target_beyond_reach() -> None:
    """p = 0.9 with at most 9 votes reaches 0.99911 per task; two tasks reach its square."""
    tasks = [{"id": f"t{i}", "capability": "solve", "input_tokens": "n"} for i in range(2)]
    reasons = _reasons(_request(tasks, [SOLVER], constraints={"min_success_probability": 0.9999}))
    assert (
        reasons["constraints.min_success_probability"]
        == "best achievable is 0.9982 (asked for 0.9999)"
    )
    assert reasons["graph.tasks[0]"] == "t0: success probability at most 0.9991"
    assert reasons["graph.tasks[1]"] == "t1: success probability at most 0.9991"


def test_cost_and_latency_limits_beyond_reach() -> None:
    tasks = [{"id": "t", "capability": "solve", "input_tokens": "n"}]
    reasons = _reasons(_request(tasks, [SOLVER], constraints={"max_cost": 1.0, "max_latency": 10}))
    assert reasons["constraints.max_cost"].startswith("the cheapest plan costs 1e+12")
    assert reasons["constraints.max_latency"].startswith("the fastest plan takes 1001")


def test_constraints_reachable_alone_but_not_together() -> None:
    """Votes buy success but cost: 0.99 needs votes, and max_cost allows only one call."""
    tasks = [{"id": "t", "capability": "solve", "input_tokens": "n"}]
    request = _request(
        tasks, [SOLVER], constraints={"min_success_probability": 0.99, "max_cost": 1.5e12}
    )
    assert _reasons(request) == {
        "constraints": "no plan meets min_success_probability 0.99 and max_cost 1.5e+12 together"
    }
