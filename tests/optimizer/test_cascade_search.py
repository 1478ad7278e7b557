"""CASCADE in the search (issue 14): models, order and cut-off, Θ, crossovers, what-if.

The oracle is test-local: every ordered subset of the catalog (one model: DIRECT; more: a
cascade) is scored with FrugalGPT's accounting written out here (PRICED calls priced by
hand), and the best by the request's objective (the cost of a correct result, subject to
the success floor) must be the optimizer's plan.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
from pathlib import Path
from typing import Any

import optuna
import pytest
import sympy
import yaml
from aalps.client import Client
from aalps.cost_models.domain import Cascade, CascadeRates, Operator, Plan, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.plan_params import PlanParams
from aalps.optimizer.space import Metrics
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto, request_from_proto
from google.protobuf import json_format

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cascade.yaml"

Sequence_ = tuple[str, ...]  # models in stage order


def _call_cost(model: dict[str, Any], tokens_in: float, tokens_out: float) -> float:
    return model["price_per_input_token"] * tokens_in + model["price_per_output_token"] * tokens_out


def figures(data: dict[str, Any], order: Sequence_) -> tuple[float, float]:
    """E[cost] and success of running ``order`` (FrugalGPT's accounting, by hand)."""
    task = data["graph"]["tasks"][0]
    n = data["graph"]["parameters"][0]["value"]
    tokens_in = float(task.get("prompt_tokens", 0)) + n
    tokens_out = float(task["output_tokens"])
    models = {m["name"]: m for m in data["catalog"]["models"]}
    cost, success, reach = 0.0, 0.0, 1.0
    for j, name in enumerate(order):
        model = models[name]
        cost += reach * _call_cost(model, tokens_in, tokens_out)
        reliability = model["capabilities"]["classify"]
        if j == len(order) - 1:
            accept, accuracy = 1.0, reliability
        else:
            rates = model["cascade"]["classify"]
            accept = rates["accept_rate"]
            accuracy = rates.get("accepted_accuracy", reliability)
        success += reach * accept * accuracy
        reach *= 1 - accept
    return cost, success


def brute_force(data: dict[str, Any]) -> tuple[Sequence_, float]:
    """The ordered subset with the least cost of a correct result meeting the floor."""
    names = [m["name"] for m in data["catalog"]["models"]]
    rated = {m["name"] for m in data["catalog"]["models"] if "cascade" in m}
    floor = data.get("constraints", {}).get("min_success_probability", 0.0)
    depth = data["graph"]["tasks"][0]["cascade"]["max_stages"]
    best: tuple[Sequence_, float] = ((), math.inf)
    for size in range(1, depth + 1):
        for order in itertools.permutations(names, size):
            if any(m not in rated for m in order[:-1]):
                continue
            cost, success = figures(data, order)
            if success >= floor and cost / success < best[1]:
                best = (order, cost / success)
    return best


def sequence(task_plan: TaskPlan) -> Sequence_:
    return tuple(r.model for r in task_plan.roles)


def random_data(seed: int) -> dict[str, Any]:
    """Five models from cheap and unreliable to dear and reliable, in a shuffled catalog,
    with random rates (the dearest has none: it can only be last)."""
    rng = random.Random(seed)
    tiers = [(0.1, 0.6), (0.4, 0.7), (1.5, 0.8), (5.0, 0.86), (15.0, 0.9)]
    models = []
    for i, (price, reliability) in enumerate(tiers):
        price *= rng.uniform(0.7, 1.3)
        model: dict[str, Any] = {
            "name": f"m{i}",
            "size": 1 + i,
            "price_per_input_token": price,
            "price_per_output_token": 4 * price,
            "capabilities": {"classify": round(reliability + rng.uniform(0.0, 0.08), 3)},
        }
        if i < 4:
            rates: dict[str, float] = {"accept_rate": round(rng.uniform(0.2, 0.8), 3)}
            if rng.random() < 0.7:
                rates["accepted_accuracy"] = round(rng.uniform(0.9, 0.995), 3)
            model["cascade"] = {"classify": rates}
        models.append(model)
    rng.shuffle(models)
    data: dict[str, Any] = {
        "graph": {
            "parameters": [{"name": "n", "value": 50}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "classify",
                    "input_tokens": "n",
                    "output_tokens": 3,
                    "prompt_tokens": 10,
                    "cascade": {"max_stages": 3},
                }
            ],
        },
        "catalog": {"models": models},
        "cost_model": "PRICED",
    }
    if seed % 2:
        data["constraints"] = {"min_success_probability": 0.9}
    return data


@pytest.mark.parametrize("seed", range(10))
def test_the_search_finds_the_brute_force_optimum(seed: int) -> None:
    data = random_data(seed)
    order, best = brute_force(data)
    if not order:
        pytest.skip("no ordered subset meets the floor")  # not drawn by these seeds
    result = optimize(load_request(data))
    (task_plan,) = result.plan.plan.tasks
    outcome = result.plan.outcome
    assert outcome.expected_cost / outcome.success_probability == pytest.approx(best, rel=1e-9)
    assert sequence(task_plan) == order
    expected = Operator.DIRECT if len(order) == 1 else Operator.CASCADE
    assert task_plan.operator is expected
    if expected is Operator.CASCADE:
        assert task_plan.param_map == {"stages": len(order)}
    assert result.stats.exhaustive


def test_the_draw_exercises_every_cut_off() -> None:
    """The seeds above reach DIRECT, two- and three-stage cascades (else the test is weak)."""
    lengths = {len(brute_force(random_data(seed))[0]) for seed in range(10)}
    assert {2, 3} <= lengths


def test_the_example_plan_and_its_figures() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    order, best = brute_force(data)
    result = optimize(load_request(data))
    (task_plan,) = result.plan.plan.tasks
    assert task_plan.operator is Operator.CASCADE
    assert sequence(task_plan) == order == ("mini", "mid", "large")
    cost, success = figures(data, order)
    assert result.plan.outcome.expected_cost == pytest.approx(cost, rel=1e-9)
    assert result.plan.outcome.success_probability == pytest.approx(success, rel=1e-9)
    assert result.plan.bound.expr.free_symbols == {result.plan.bound.growing[0]}


@pytest.mark.parametrize("floor", [True, False])
def test_stability_ranges_match_the_brute_force(floor: bool) -> None:
    """Just inside a price or reliability range's end the brute force keeps the plan; just
    past it, the brute force's optimum is the plan the range names (with the example's success floor
    the plan is a cascade; without it, DIRECT with a cascade among the alternatives)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    if not floor:
        del data["constraints"]
    result = optimize(load_request(data))
    chosen = sequence(result.plan.plan.tasks[0])
    assert brute_force(data)[0] == chosen
    checked = 0
    for item in result.stability:
        if item.field not in ("price_per_input_token", "price_per_output_token", "reliability"):
            continue
        for factor, plans in ((item.high, item.above), (item.low, item.below)):
            if not plans or not 0 < factor < math.inf:
                continue
            # Price ends are exact line crossings; reliability ends are bisected to
            # RESOLUTION (4e-3 in log ratio), so they are probed 1% beyond.
            margin = 0.01 if item.field == "reliability" else 0.001
            outward = 1 + margin if factor == item.high else 1 - margin
            for step, expected in ((2 - outward, chosen), (outward, sequence(plans[0]))):
                scaled = copy.deepcopy(data)
                for model in scaled["catalog"]["models"]:
                    if model["name"] == item.model and item.field == "reliability":
                        model["capabilities"]["classify"] *= factor * step
                    elif model["name"] == item.model:
                        model[item.field] *= factor * step
                assert brute_force(scaled)[0] == expected, (item, factor, step)
            checked += 1
    assert checked >= 3


def _crossover_data() -> dict[str, Any]:
    """A cascade small → big where big's size is k: the cascade costs 100(1 + k/2) per
    task (success 1/2·0.9 + 1/2·0.95 = 0.925); DIRECT(small) 100 (success 0.3). The cascade
    wins at k = 3 and loses past (1 + k/2)/0.925 = 1/0.3, i.e. k = 2(0.925/0.3 − 1)."""
    return {
        "graph": {
            "parameters": [
                {"name": "n", "value": 100, "grows": False},
                {"name": "k", "value": 3},
            ],
            "tasks": [
                {
                    "id": "t",
                    "capability": "classify",
                    "input_tokens": "n",
                    "output_tokens": 1,
                    "cascade": {"max_stages": 2},
                }
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "small",
                    "size": 1,
                    "capabilities": {"classify": 0.3},
                    "cascade": {"classify": {"accept_rate": 0.5, "accepted_accuracy": 0.9}},
                },
                {"name": "big", "size": "k", "capabilities": {"classify": 0.95}},
            ]
        },
        "cost_model": "FORWARD_PASS",
    }


def test_crossover_and_bound_of_a_cascade() -> None:
    result = optimize(load_request(_crossover_data()))
    (task_plan,) = result.plan.plan.tasks
    assert (task_plan.operator, sequence(task_plan)) == (Operator.CASCADE, ("small", "big"))
    assert result.plan.outcome.expected_cost == pytest.approx(100 * (1 + 3 / 2), rel=1e-12)
    assert str(result.plan.bound.expr) == "k"  # 100·m_small + 50·k: Θ(k)
    at = 2 * (0.925 / 0.3 - 1)
    crossing = [c for c in result.crossovers if c.plan.plan.tasks[0].operator is Operator.DIRECT]
    assert len(crossing) == 1
    assert crossing[0].values["k"] == pytest.approx(at, rel=1e-5)
    assert sequence(crossing[0].plan.plan.tasks[0]) == ("small",)


def test_what_if_reruns_cascades_as_the_oracle_does() -> None:
    """What-if with large's price ×0.1: the new plan is the brute force's on the changed
    catalog, and its cost the hand formula's."""
    data = yaml.safe_load(EXAMPLE.read_text())
    request = pb.WhatIfRequest(names=["triage"])
    dict_to_proto(data, request.requests.add())
    request.changes.add(model="large", field="price_per_input_token", factor=0.1)
    request.changes.add(model="large", field="price_per_output_token", factor=0.1)
    with Client.in_process() as client:
        (entry,) = list(client.what_if(request))
    assert not entry.HasField("error")
    changed = copy.deepcopy(data)
    for model in changed["catalog"]["models"]:
        if model["name"] == "large":
            model["price_per_input_token"] *= 0.1
            model["price_per_output_token"] *= 0.1
    order, _ = brute_force(changed)
    (after,) = entry.after.tasks
    assert tuple(r.model for r in after.roles) == order
    assert entry.cost_after == pytest.approx(figures(changed, order)[0], rel=1e-9)
    assert entry.cost_before == pytest.approx(figures(data, ("mini", "mid", "large"))[0])
    assert entry.changed is (order != ("mini", "mid", "large"))


def test_optuna_parameters_name_whole_cascades() -> None:
    """The define-by-run walk offers each scored cascade as one choice (``a>b>c``): a
    plan encodes and decodes to itself, and every choice is a valid cascade."""
    request = load_request(yaml.safe_load(EXAMPLE.read_text()))
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request))
    assert spaces is not None
    params = PlanParams(spaces)
    choices = [c.plan for c in spaces[0].by_operator[Operator.CASCADE]]
    assert len(choices) > 1
    for task_plan in choices:
        plan = Plan((task_plan,))
        values, _ = params.encode(plan)
        label = ">".join(sequence(task_plan))
        assert values == {"triage.operator": "CASCADE", "triage.CASCADE.stages": label}
        assert params.suggest(optuna.trial.FixedTrial(values)) == plan
        evaluator.validate_plan(plan)


def test_the_wire_json_carries_the_rates() -> None:
    """A request through the wire's JSON (``optional accepted_accuracy``: absent stays
    absent, so the model's reliability stands in) reads as the file does."""
    data = yaml.safe_load(EXAMPLE.read_text())
    del data["catalog"]["models"][1]["cascade"]["classify"]["accepted_accuracy"]  # mid
    text = json_format.MessageToJson(dict_to_proto(data, pb.OptimizeRequest()))
    request = request_from_proto(json_format.Parse(text, pb.OptimizeRequest()))
    by_name = request.catalog.by_name
    assert by_name["mini"].cascade["classify"] == CascadeRates(
        sympy.Rational("0.55"), sympy.Rational("0.96")
    )
    assert by_name["mid"].cascade["classify"] == CascadeRates(sympy.Rational("0.6"), None)
    assert by_name["frontier"].cascade == {}
    assert request.graph.tasks[0].cascade == Cascade(3, {})
    assert request == load_request(data)


def _two_tasks(seed: int) -> dict[str, Any]:
    """Two cascading tasks in a chain under one success floor: the floor couples them, so
    the joint solvers (not a per-task argmin) choose both cascades."""
    data = random_data(seed)
    first = data["graph"]["tasks"][0]
    second = {**first, "id": "u", "input_tokens": "2*n", "cascade": {"max_stages": 2}}
    data["graph"]["tasks"].append(second)
    data["graph"]["edges"] = [{"source": "t", "target": "u", "tokens": 0}]
    data["constraints"] = {"min_success_probability": 0.85}
    return data


def _orders(data: dict[str, Any], task: dict[str, Any]) -> list[tuple[Sequence_, float, float]]:
    """Every ordered subset for one task, with its cost and success (``figures``)."""
    one = {**data, "graph": {**data["graph"], "tasks": [task]}}
    one["graph"]["parameters"] = [{"name": "n", "value": 50 * (2 if task["id"] == "u" else 1)}]
    names = [m["name"] for m in data["catalog"]["models"]]
    rated = {m["name"] for m in data["catalog"]["models"] if "cascade" in m}
    found = []
    for size in range(1, task["cascade"]["max_stages"] + 1):
        for order in itertools.permutations(names, size):
            if all(m in rated for m in order[:-1]):
                found.append((order, *figures(one, order)))
    return found


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_coupled_cascades_match_the_joint_brute_force(seed: int) -> None:
    data = _two_tasks(seed)
    t, u = data["graph"]["tasks"]
    best = (math.inf, (), ())
    for (a, ca, sa), (b, cb, sb) in itertools.product(_orders(data, t), _orders(data, u)):
        if sa * sb >= 0.85:
            best = min(best, ((ca + cb) / (sa * sb), a, b))
    result = optimize(load_request(data))
    outcome = result.plan.outcome
    assert outcome.expected_cost / outcome.success_probability == pytest.approx(best[0], rel=1e-9)
    plans = {tp.task_id: sequence(tp) for tp in result.plan.plan.tasks}
    assert (plans["t"], plans["u"]) == best[1:]
