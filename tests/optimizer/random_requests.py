"""Seeded random requests small enough for :mod:`tests.optimizer.brute_force`.

3–10 tasks and 3–8 models with random capabilities, reliabilities, sizes, prices and
context windows; mixed facts (blocks, routing, defects, acceptance with or without an LLM
verifier, chunkable with or without an aggregator, steps) so that several operators apply;
a few DAG edges; any of the four cost models. Odd seeds get coupling constraints chosen
from the feasible range so that they bind: a target success probability between the
cheapest plan's and the most reliable plan's (which stays feasible), a latency limit
between that plan's and the cheapest plan's, sometimes a cost limit above the witness's.
Draws whose joint space exceeds ``max_joint`` are redrawn (with fewer tasks).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.evaluation import VOTE_CHOICES, PlanEvaluator, PlanOutcome
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, applicable_operators
from aalps.cost_models.plan_checks import model_problem

from tests.optimizer.brute_force import (
    MAX_LEAD,
    Choice,
    all_choices,
    input_size,
    joint_size,
    success_matters,
)

CAPABILITIES = ("solve", "write", "identify", "find", "check", "combine")
COST_MODELS = ("FORWARD_PASS", "KV_CACHED", "PRICED", "QUADRATIC_ATTENTION")


def _task(rng: random.Random, index: int) -> dict[str, Any]:
    main = rng.choice(("solve", "write"))
    task: dict[str, Any] = {
        "id": f"t{index}",
        "capability": main,
        "input_tokens": rng.choice(("n", "2*n", "l")),
        "output_tokens": rng.choice(("1", "4", "l")),
        "prompt_tokens": rng.choice((0, 20, 200)),
    }
    if rng.random() < 0.4:
        task["blocks"] = {"count": "k", "size": "l"}
    if rng.random() < 0.3:
        task["routing"] = {"tokens": 16, "capability": "identify"}
    if rng.random() < 0.3:
        task["defects"] = {"count": "b"}
        task["role_capabilities"] = {"detector": "find", "fixer": main}
    if rng.random() < 0.25:
        task["acceptance"] = {
            "success_probability": rng.choice((0.5, 0.8, 0.95)),
            "verifier": rng.choice(("", "check")),
        }
    if rng.random() < 0.25:
        task["chunkable"] = {
            "aggregate_tokens": rng.choice(("4", "chunk/10 + 2")),
            "aggregator": rng.choice(("", "combine")),
        }
        task["input_tokens"] = str(rng.randint(20, 80))
        task["output_tokens"] = rng.choice(("1", "4"))
    if rng.random() < 0.2:
        task["steps"] = {"count": "k", "tokens": 30}
    return task


def _model(rng: random.Random, index: int) -> dict[str, Any]:
    capabilities = {
        c: rng.choice((0.7, 0.8, 0.9, 0.95, 0.99, 1.0)) for c in CAPABILITIES if rng.random() < 0.35
    }
    if not capabilities:
        capabilities[rng.choice(CAPABILITIES)] = 0.9
    price = rng.uniform(0.1, 5.0) / 1e6
    model: dict[str, Any] = {
        "name": f"m{index}",
        "size": rng.choice((10**9, 3 * 10**9, 7 * 10**9, 2 * 10**10, 7 * 10**10)),
        "price_per_input_token": price,
        "price_per_output_token": 3 * price,
        "context_window": rng.choice((0, 0, 4000, 20000, 100000)),
        "capabilities": capabilities,
        "latency_per_token": rng.choice((0.5, 1.0, 2.0)),
    }
    if rng.random() < 0.15:
        model["per_variant"] = True
    if rng.random() < 0.1:
        model["per_token_error"] = 1e-5
    return model


def _draw(rng: random.Random, n_tasks: int) -> dict[str, Any]:
    tasks = [_task(rng, i) for i in range(n_tasks)]
    edges = [
        {"source": f"t{i}", "target": f"t{j}"}
        for i in range(n_tasks)
        for j in range(i + 1, n_tasks)
        if rng.random() < 0.15 and "chunkable" not in tasks[j]
    ]
    return {
        "graph": {
            "name": "random",
            "parameters": [
                {"name": "k", "value": rng.randint(4, 12)},
                {"name": "l", "value": rng.randint(20, 200)},
                {"name": "b", "value": rng.randint(1, 3)},
                {"name": "n", "expr": "k*l"},
            ],
            "assumptions": ["b <= k"],
            "tasks": tasks,
            "edges": edges,
        },
        "catalog": {"models": [_model(rng, i) for i in range(rng.randint(3, 8))]},
        "cost_model": rng.choice(COST_MODELS),
        "search": {"seed": 0},
    }


def _estimate(request: OptimizeRequest) -> int:
    """An upper bound on the joint space, computed without scoring anything."""
    votes = len(VOTE_CHOICES) if success_matters(request) else 1
    total = 1
    for task in request.graph.tasks:
        count = 0
        for operator in applicable_operators(task):
            spec = OPERATORS[operator]
            product = 1
            for role in spec.roles(task):
                able = [m for m in request.catalog.models if model_problem(role, m) is None]
                product *= len(able) * (votes if role.votable else 1)
            for param in spec.params(task):
                size = input_size(request, task)
                product *= (
                    min(math.ceil(size), 2 * math.isqrt(math.ceil(size)) + 2)
                    if param.name == "chunk"
                    else min(param.high, MAX_LEAD) - param.low + 1
                )
            count += product
        total *= count
    return total


def _pick(choices: Sequence[Choice], key: Any) -> Choice:
    return min(choices, key=key)


def _figures(evaluator: PlanEvaluator, picks: Sequence[Choice]) -> PlanOutcome:
    ids = [t.id for t in evaluator.graph.tasks]
    return evaluator.combine({i: c[1] for i, c in zip(ids, picks, strict=True)})


def _constraints(
    rng: random.Random, evaluator: PlanEvaluator, choices: list[list[Choice]], kinds: set[str]
) -> dict[str, float]:
    """Binding constraints that the most reliable (or fastest) plan still meets."""
    cheapest = _figures(evaluator, [_pick(c, lambda x: x[1].expected_cost) for c in choices])
    if "success" in kinds:
        witness_key = lambda x: (-x[1].success_probability, x[1].latency, x[1].expected_cost)  # noqa: E731
    else:
        witness_key = lambda x: (x[1].latency, x[1].expected_cost)  # noqa: E731
    witness = _figures(evaluator, [_pick(c, witness_key) for c in choices])
    out: dict[str, float] = {}
    if "success" in kinds and witness.success_probability > cheapest.success_probability * 1.001:
        lo, hi = math.log(cheapest.success_probability), math.log(witness.success_probability)
        out["min_success_probability"] = math.exp(lo + rng.uniform(0.3, 0.9) * (hi - lo))
    if "latency" in kinds and cheapest.latency > witness.latency * 1.001:
        out["max_latency"] = witness.latency + rng.uniform(0.2, 0.8) * (
            cheapest.latency - witness.latency
        )
    if "cost" in kinds and out:
        out["max_cost"] = witness.expected_cost * (1 + rng.uniform(0.0, 0.5))
    return out


def random_request_data(seed: int, *, max_joint: int = 50_000) -> dict[str, Any]:
    """The plain data (as a request file would hold it) of random request ``seed``."""
    rng = random.Random(seed)
    coupled = seed % 2 == 1
    n_tasks = rng.randint(3, 10)
    for attempt in range(1, 400):
        kinds = set(
            rng.choice((("success",), ("latency",), ("success", "latency"), ("success", "cost")))
        )
        data = _draw(rng, n_tasks)
        if coupled and "success" in kinds:
            data["constraints"] = {"min_success_probability": 1e-300}  # votes count
        request = load_request(data)
        if _estimate(request) > 20 * max_joint:
            n_tasks = max(3, n_tasks - (attempt % 8 == 0))
            continue
        evaluator, choices = all_choices(request)
        size = joint_size(choices)
        if size == 0 or size > max_joint:
            n_tasks = max(3, n_tasks - (attempt % 4 == 0))
            continue
        data.pop("constraints", None)
        if not coupled:
            return data
        constraints = _constraints(rng, evaluator, choices, kinds)
        if constraints:
            data["constraints"] = constraints
            return data
    raise RuntimeError(f"no random request for seed {seed}")


def random_request(seed: int, *, max_joint: int = 50_000) -> OptimizeRequest:
    return load_request(random_request_data(seed, max_joint=max_joint))


def wide_request_data(
    seed: int, n_tasks: int, n_models: int, *, min_success_probability: float | None = None
) -> dict[str, Any]:
    """A large random request (no brute force possible): for speed and scaling figures.

    Tasks and models are drawn as in :func:`random_request_data`; every capability has at
    least two models, and each task gets at most one incoming edge from an earlier task.
    """
    rng = random.Random(seed)
    tasks = [_task(rng, i) for i in range(n_tasks)]
    models = [_model(rng, i) for i in range(n_models)]
    for capability in CAPABILITIES:
        for model in rng.sample(models[: max(2, n_models // 2)], 2):
            model["capabilities"].setdefault(capability, 0.9)
            model.pop("per_variant", None)
    edges = [
        {"source": f"t{rng.randrange(j)}", "target": f"t{j}"}
        for j in range(1, n_tasks)
        if rng.random() < 0.3 and "chunkable" not in tasks[j]
    ]
    data: dict[str, Any] = {
        "graph": {
            "name": f"wide {n_tasks}x{n_models}",
            "parameters": [
                {"name": "k", "value": 10},
                {"name": "l", "value": 200},
                {"name": "b", "value": 3},
                {"name": "n", "expr": "k*l"},
            ],
            "assumptions": ["b <= k"],
            "tasks": tasks,
            "edges": edges,
        },
        "catalog": {"models": models},
        "cost_model": "FORWARD_PASS",
        "search": {"seed": seed},
    }
    if min_success_probability is not None:
        data["constraints"] = {"min_success_probability": min_success_probability}
    return data
