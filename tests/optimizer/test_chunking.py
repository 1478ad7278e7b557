"""The chunk-size search against exhaustive enumeration over every chunk size."""

from __future__ import annotations

import math

import aalps.optimizer.chunk_enumeration
import pytest
from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.chunking import ChunkCounts, cheapest_count

from tests.optimizer.conftest import example

COST_MODELS = ("FORWARD_PASS", "KV_CACHED", "PRICED", "QUADRATIC_ATTENTION")


@pytest.mark.parametrize("total", [*range(1, 400), 1000.5, 2024, 2025, 4097, 99991])
def test_chunk_counts_are_exactly_the_achievable_counts(total: float) -> None:
    counts = ChunkCounts(total)
    achievable = sorted({math.ceil(total / s) for s in range(1, math.ceil(total) + 1)})
    assert list(counts.distinct(0, len(counts) - 1)) == achievable
    assert [counts[i] for i in range(len(counts))] == sorted(counts[i] for i in range(len(counts)))
    for c in achievable[:50] + achievable[-50:]:
        size = counts.size_for(c)
        assert counts.count_of(size) == c
        assert size == 1 or counts.count_of(size - 1) > c


def test_ternary_search_finds_the_minimum_of_convex_functions() -> None:
    counts = ChunkCounts(10**6)
    for center in (1, 7, 999, 1000, 1001, 31_250, 10**6):
        result = cheapest_count(
            lambda c, x=center: (c - x) ** 2 / x + 0.5 * c,
            counts,
            0,
            len(counts) - 1,
            convex=True,
            limit=10,
        )
        brute = min(
            counts.distinct(0, len(counts) - 1),
            key=lambda c, x=center: ((c - x) ** 2 / x + 0.5 * c, c),
        )
        assert result.count == brute and result.exact


def _chunk_request(
    cost_model: str, total: int, aggregate: str, aggregator: bool, prompt: int
) -> dict:  # type: ignore[type-arg]
    task = {
        "id": "count",
        "capability": "count",
        "input_tokens": total,
        "output_tokens": 4,
        "prompt_tokens": prompt,
        "chunkable": {"aggregate_tokens": aggregate, "aggregator": "combine" if aggregator else ""},
    }
    models = [
        {
            "name": "small",
            "size": 10**9,
            "context_window": 700,
            "price_per_input_token": 1e-7,
            "price_per_output_token": 5e-7,
            "capabilities": {"count": 1.0, "combine": 1.0},
        },
        {
            "name": "mid",
            "size": 3 * 10**9,
            "context_window": 3000,
            "price_per_input_token": 2e-7,
            "price_per_output_token": 2e-7,
            "capabilities": {"count": 1.0},
        },
        {
            "name": "agg",
            "size": 2 * 10**9,
            "context_window": 5000,
            "price_per_input_token": 1e-7,
            "price_per_output_token": 1e-7,
            "capabilities": {"combine": 1.0},
        },
    ]
    return {
        "graph": {"parameters": [{"name": "n", "value": total}], "tasks": [task]},
        "catalog": {"models": models},
        "cost_model": cost_model,
    }


def _exhaustive(request) -> float:  # type: ignore[no-untyped-def]
    """The cheapest CHUNK_AGGREGATE plan over every chunk size 1..N and model assignment."""
    evaluator = PlanEvaluator(request)
    task = request.graph.tasks[0]
    workers = [m.name for m in request.catalog.models if "count" in m.capabilities]
    aggregators = [None]
    if task.chunkable.aggregator:
        aggregators = [m.name for m in request.catalog.models if "combine" in m.capabilities]
    best = math.inf
    for w in workers:
        for a in aggregators:
            roles = (RoleAssignment("worker", w),) + (
                (RoleAssignment("aggregator", a),) if a else ()
            )
            for size in range(1, int(task.input_tokens) + 1):
                plan = TaskPlan("count", Operator.CHUNK_AGGREGATE, roles, (("chunk", size),))
                outcome = evaluator.task_outcome(plan)
                if outcome.window_violation is None:
                    best = min(best, outcome.expected_cost)
    return best


@pytest.mark.parametrize("cost_model", COST_MODELS)
@pytest.mark.parametrize(
    ("total", "aggregate", "aggregator", "prompt"),
    [
        (3000, "4", False, 300),
        (2500, "chunk/10 + 2", True, 50),
        (1800, "chunk", True, 0),
        (2200, "chunk**2/500 + 1", False, 120),
    ],
)
@pytest.mark.parametrize("limit", [4000, 8])
def test_chunk_search_matches_every_chunk_size(
    cost_model: str,
    total: int,
    aggregate: str,
    aggregator: bool,
    prompt: int,
    limit: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Enumerated (limit 4000) and ternary (limit 8) searches both give the exhaustive optimum."""
    monkeypatch.setattr(aalps.optimizer.chunk_enumeration, "cheapest_count", _with_limit(limit))
    data = _chunk_request(cost_model, total, aggregate, aggregator, prompt)
    data["graph"]["tasks"][0]["role_capabilities"] = {"DIRECT.worker": "count_whole"}
    request = load_request(data)
    result = optimize(request)
    (task_plan,) = result.plan.plan.tasks
    assert task_plan.operator is Operator.CHUNK_AGGREGATE
    assert result.plan.outcome.expected_cost == pytest.approx(_exhaustive(request), rel=1e-12)
    assert result.stats.exhaustive


def _with_limit(limit: int):  # type: ignore[no-untyped-def]
    def search(*args, **kwargs):  # type: ignore[no-untyped-def]
        return cheapest_count(*args, **{**kwargs, "limit": limit})

    return search


def test_quadratic_attention_chunk_is_about_the_prompt() -> None:
    """Chen et al. §3.1: under QUADRATIC_ATTENTION the best chunk is about prompt_tokens."""
    request = example("character_counting")
    (task_plan,) = optimize(request).plan.plan.tasks
    total = 200_000
    chunks = math.ceil(total / task_plan.param_map["chunk"])
    assert total / chunks == pytest.approx(300, rel=0.05)


def test_kv_cached_chunk_is_the_largest_the_window_allows() -> None:
    """Under KV_CACHED fewer, longer chunks are always cheaper: the window decides."""
    data = _chunk_request("KV_CACHED", 100_000, "4", False, 300)
    data["catalog"]["models"] = [data["catalog"]["models"][1]]  # "mid", window 3000
    (task_plan,) = optimize(load_request(data)).plan.plan.tasks
    chunks = math.ceil(100_000 / task_plan.param_map["chunk"])
    fewest = math.ceil(100_000 / (3000 - 300 - 4))  # prompt + chunk + output must fit
    assert chunks == fewest
