"""Skipping shadowed role choices (:mod:`aalps.optimizer.shadowing`) changes no space.

The oracle is the enumeration with the skipping switched off (``prune=False``): every
choice scored. Spaces are compared whole (kept candidates per operator and across them with
their figures at both ray points, the feasible models, problems) on random requests of every
cost model, under every combination of the figures a :class:`Metrics` compares; only the
count of scored plans may fall.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from aalps.cost_models.domain import Model
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import RoleSpec
from aalps.optimizer.enumeration import SpaceBuilder
from aalps.optimizer.ray import FAR_SCALE
from aalps.optimizer.shadowing import shadowing_models
from aalps.optimizer.space import Metrics, TaskSpace

from tests.optimizer.random_requests import _draw, wide_request_data
from tests.optimizer.space_summaries import space_summary

METRICS = [
    Metrics(),
    Metrics(success=True),
    Metrics(latency=True),
    Metrics(success=True, latency=True, far=True),
    Metrics(success=True, far=True, ratio=True),
    Metrics(far=True),
]


def _spaces(data: dict[str, Any], metrics: Metrics, prune: bool) -> list[TaskSpace]:
    request = load_request(data)
    evaluator = PlanEvaluator(request)
    far = evaluator.at(FAR_SCALE) if metrics.far else None
    builder = SpaceBuilder(evaluator, metrics, far, prune=prune)  # infeasible tasks too
    return [builder.build(i, t) for i, t in enumerate(request.graph.tasks)]


def _compare(data: dict[str, Any], metrics: Metrics) -> tuple[int, int]:
    """Assert the spaces alike; the scored counts (pruned, unpruned)."""
    pruned = _spaces(data, metrics, prune=True)
    full = _spaces(data, metrics, prune=False)
    # Everything but the count (the last field) as text: nan figures compare equal so.
    assert [repr(space_summary(s)[:-1]) for s in pruned] == [
        repr(space_summary(s)[:-1]) for s in full
    ]
    for a, b in zip(pruned, full, strict=True):
        assert a.scored <= b.scored
    return sum(s.scored for s in pruned), sum(s.scored for s in full)


def _alike_models(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``data`` with copies of some models that differ in size, prices, window or latency
    only (the same reliabilities): the pairs shadowing is about."""
    models = data["catalog"]["models"]
    for model in list(models):
        if rng.random() < 0.6:
            twin = dict(model, name=model["name"] + "w")
            twin["context_window"] = rng.choice((0, 4000, 20000, 100000))
            twin["size"] = model["size"] * rng.choice((1, 3))
            twin["price_per_input_token"] = model["price_per_input_token"] * rng.choice((1, 2))
            twin["latency_per_token"] = rng.choice((0.5, 1.0, 2.0))
            models.insert(rng.randrange(len(models) + 1), twin)
    return data


@pytest.mark.parametrize("seed", range(24))
def test_random_requests_keep_their_spaces(seed: int) -> None:
    rng = random.Random(1000 + seed)
    data = _alike_models(_draw(rng, rng.randint(3, 8)), rng)
    metrics = METRICS[seed % len(METRICS)]
    _compare(data, metrics)


@pytest.mark.parametrize("metrics", METRICS)
def test_wide_request_keeps_its_spaces_and_skips(metrics: Metrics) -> None:
    pruned, full = _compare(wide_request_data(2, 40, 10), metrics)
    assert pruned < full  # 2,093 of 2,237 under COST_OF_PASS's metrics


def test_the_wide_request_skips_many() -> None:
    """The benchmark request skips a fifth of its scorings (3,425 of 4,227 at 50x20)."""
    pruned, full = _compare(wide_request_data(1, 50, 20), METRICS[4])
    assert pruned <= 0.85 * full


def _model(name: str, **fields: Any) -> Model:
    data = {
        "name": name,
        "size": 10**9,
        "capabilities": {"solve": 0.9},
        "context_window": 0,
        "latency_per_token": 1.0,
    }
    data.update(fields)
    request = load_request(
        {
            "graph": {
                "name": "one",
                "parameters": [],
                "tasks": [{"id": "t", "capability": "solve", "input_tokens": "1"}],
            },
            "catalog": {"models": [data]},
        }
    )
    return request.catalog.models[0]


def test_shadowing_pairs_follow_the_rule() -> None:
    """An earlier model of the same reliability, no wider window and no dearer shadows;
    a later one, another reliability, a wider window, a dearer size or (when latency
    matters) a slower one does not."""
    role = RoleSpec("worker", "solve")
    cheap = _model("cheap", context_window=4000)
    wide = _model("wide", size=3 * 10**9)  # unlimited window, dearer
    sure = _model("sure", size=3 * 10**9, capabilities={"solve": 0.95})
    narrow = _model("narrow", size=3 * 10**9, context_window=2000)
    fast = _model("fast", size=3 * 10**9, latency_per_token=0.5)
    models = (cheap, wide, sure, narrow, fast)
    sizes = {m.name: float(m.size_value) for m in models}
    found = shadowing_models(role, models, far_sizes=sizes, latency=False)
    assert found == {"wide": ("cheap",), "fast": ("cheap", "wide", "narrow")}
    found = shadowing_models(role, models, far_sizes=sizes, latency=True)
    assert found == {"wide": ("cheap",)}  # "fast" is faster: latency matters now
    assert shadowing_models(role, models[::-1], far_sizes=sizes, latency=False) == {
        "wide": ("fast", "narrow")
    }


def _chains(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``data`` with steps on every task and an acceptance on about half (AHEAD_BY_K
    everywhere, its success capped below 1 on some), and reliabilities around 1/2."""
    for task in data["graph"]["tasks"]:
        task["steps"] = {"count": rng.choice(("k", "n", "3")), "tokens": 30}
        if rng.random() < 0.5:
            task["acceptance"] = {"success_probability": rng.choice((0.5, 0.8)), "verifier": ""}
    for model in data["catalog"]["models"]:
        for capability in model["capabilities"]:
            if rng.random() < 0.3:
                model["capabilities"][capability] = rng.choice((0.4, 0.5, 0.6, 1.0))
    return data


@pytest.mark.parametrize("seed", range(18))
def test_chains_keep_their_spaces(seed: int) -> None:
    """AHEAD_BY_K's leads that another worker's cap beats (:mod:`.lead_saturation`)."""
    rng = random.Random(2000 + seed)
    data = _chains(_alike_models(_draw(rng, rng.randint(3, 8)), rng), rng)
    _compare(data, METRICS[seed % len(METRICS)])


def test_capped_chains_skip_leads() -> None:
    """Not vacuous: a wide request skips shadowed choices and capped leads (5,285 of 6,128
    scorings at 60 tasks x 10 models)."""
    pruned, full = _compare(wide_request_data(1, 60, 10), METRICS[4])
    assert pruned <= 0.9 * full
