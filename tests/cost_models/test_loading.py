"""Request validation: every bad field is named, all at once; good files load."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sympy
from aalps.cost_models.domain import CostModel, Operator
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.loading import load_request
from aalps.cost_models.plan_loading import load_plan

from tests.conftest import EXAMPLES, example_data


def _fields(data: Any) -> set[str]:
    with pytest.raises(InvalidRequestError) as info:
        load_request(data)
    return {v.field for v in info.value.violations}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_loads(path) -> None:
    request = load_request(example_data(path.stem))
    assert request.graph.tasks


def test_defined_parameter_follows_its_expression() -> None:
    request = load_request(example_data("code_debugging"))
    n, k, l_ = (sympy.Symbol(s, positive=True) for s in "nkl")  # noqa: E741
    assert request.graph.substitutions == {n: k * l_}
    values = {p.name: p.value for p in request.graph.parameters}
    assert values["n"] == values["k"] * values["l"] == 100_000
    assert request.graph.growing == {k, l_, sympy.Symbol("b", positive=True)}


def test_model_size_symbols() -> None:
    request = load_request(example_data("k_task_routing"))
    sizes = {m.name: m.size for m in request.catalog.models}
    k, m_s = sympy.Symbol("k", positive=True), sympy.Symbol("m_s", positive=True)
    assert sizes == {
        "generalist": k * m_s,
        "d": sympy.Symbol("m_d", positive=True),
        "specialist": m_s,
    }
    assert {s.name for s in request.model_symbols} == {"m_s", "m_d"}
    assert request.catalog.by_name["generalist"].size_value == 1000 * 1e9


def test_many_violations_reported_together() -> None:
    data = copy.deepcopy(example_data("code_debugging"))
    data["cost_model"] = "FAST_PASS"
    data["graph"]["tasks"][0]["blocks"]["count"] = "x + 1"
    data["graph"]["tasks"][0]["input_tokens"] = "__import__('os').system('true')"
    data["catalog"]["models"][0]["size"] = -5
    data["catalog"]["models"][1]["capabilities"]["fix_bug"] = 1.5
    data["graph"]["tasks"][0]["baseline"] = "NOPE"
    assert _fields(data) == {
        "cost_model",
        "graph.tasks[0].blocks.count",
        "graph.tasks[0].input_tokens",
        "catalog.models[0].size",
        "catalog.models[1].capabilities[fix_bug]",
        "graph.tasks[0].baseline",
    }


def test_cycle_names_the_tasks_on_it() -> None:
    data = copy.deepcopy(example_data("code_debugging"))
    task = data["graph"]["tasks"][0]
    data["graph"]["tasks"] = [dict(task, id=name) for name in ("a", "b", "c")]
    data["graph"]["edges"] = [
        {"source": "a", "target": "b"},
        {"source": "b", "target": "c"},
        {"source": "c", "target": "a"},
    ]
    with pytest.raises(InvalidRequestError) as info:
        load_request(data)
    (violation,) = info.value.violations
    assert violation.field == "graph.edges"
    assert all(name in violation.description for name in ("a", "b", "c"))


def test_parameter_cycle_and_mismatched_value() -> None:
    data = copy.deepcopy(example_data("code_debugging"))
    params = data["graph"]["parameters"]
    params[3]["value"] = 7  # n = k*l = 100000
    assert _fields(data) == {"graph.parameters[3].value"}
    params[3].pop("value")
    params[0]["expr"] = "n / l"  # k = n/l while n = k*l
    assert _fields(data) == {"graph.parameters"}


def test_unknown_fields_and_capability_free_models() -> None:
    data = copy.deepcopy(example_data("k_task_routing"))
    data["graph"]["tasks"][0]["input_tokenz"] = "n"
    data["catalog"]["models"][0]["capabilities"] = {}
    assert _fields(data) == {"graph.tasks[0].input_tokenz", "catalog.models[0].capabilities"}


def test_caps_on_request_size() -> None:
    data = copy.deepcopy(example_data("k_task_routing"))
    data["graph"]["tasks"] = [data["graph"]["tasks"][0]] * 11
    with pytest.raises(InvalidRequestError) as info:
        load_request(data, max_tasks=10)
    assert [v.field for v in info.value.violations] == ["graph.tasks"]


def test_enums_and_options() -> None:
    data = copy.deepcopy(example_data("k_task_routing"))
    data["cost_model"] = "KV_CACHED"
    data["search"] = {"n_trials": "50", "seed": 7, "objectives": ["COST", "LATENCY"]}
    data["constraints"] = {"min_success_probability": 0.9, "parallelism": 4}
    request = load_request(data)
    assert request.cost_model is CostModel.KV_CACHED
    assert (request.search.n_trials, request.search.seed) == (50, 7)
    assert request.constraints.coupled and request.constraints.parallelism == 4


def test_load_plan() -> None:
    plan = load_plan(
        {
            "tasks": [
                {
                    "task_id": "count",
                    "operator": "CHUNK_AGGREGATE",
                    "roles": [{"role": "worker", "model": "small"}],
                    "params": {"chunk": "300"},
                }
            ]
        }
    )
    (task,) = plan.tasks
    assert task.operator is Operator.CHUNK_AGGREGATE and task.param_map == {"chunk": 300}
    assert task.roles[0].votes == 1
