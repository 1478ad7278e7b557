"""Skipping dominated chunk counts (:mod:`aalps.optimizer.chunk_pruning`) loses nothing.

Two references on seeded requests whose success matters (the role-wise enumeration of every
chunk count runs): the same enumeration with the pruner switched off (the same candidates
must survive, plan for plan, figure for figure, in the same order), and an independent
exhaustive one: every chunk count the windows allow × every worker choice × every aggregator
choice scored straightforwardly, then the Pareto front taken (the same figures).
"""

from __future__ import annotations

import itertools
from typing import Any

import aalps.optimizer.chunk_pruning as chunk_pruning
import pytest
from aalps.cost_models.domain import Operator
from aalps.optimizer.enumeration import OperatorEnumerator
from aalps.optimizer.pareto import pareto_filter
from aalps.optimizer.space import Candidate, TaskSpace

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.space_summaries import spaces_with_builder

CHUNK = Operator.CHUNK_AGGREGATE

CASES: list[tuple[str, dict[str, Any]]] = [
    *((f"random {s}", random_request_data(s)) for s in range(1, 61)),
    *((f"wide {s}", wide_request_data(s, 40, 8)) for s in range(6)),
    *(
        (f"wide {s}, success >= 0.5", wide_request_data(s, 30, 8, min_success_probability=0.5))
        for s in range(3)
    ),
]


def _figures(candidates: tuple[Candidate, ...] | list[Candidate]) -> list[Any]:
    return [(c.plan, c.outcome, c.far) for c in candidates]


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_skipping_counts_keeps_the_same_candidates(
    name: str, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, fast = spaces_with_builder(data)
    monkeypatch.setattr(chunk_pruning.CountPruner, "of", classmethod(lambda cls, *a, **k: None))
    _, full = spaces_with_builder(data)
    for mine, theirs in zip(fast, full, strict=True):
        assert _figures(mine.by_operator.get(CHUNK, ())) == _figures(
            theirs.by_operator.get(CHUNK, ())
        )
        assert _figures(mine.candidates) == _figures(theirs.candidates)
        assert mine.problems == theirs.problems and mine.exact == theirs.exact


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_the_chunk_candidates_are_the_exhaustive_front(name: str, data: dict[str, Any]) -> None:
    builder, spaces = spaces_with_builder(data)
    for space in spaces:
        options = space.operators.get(CHUNK)
        if options is None or options.chunk is None or not space.exact:
            continue
        windows = options.chunk
        enumerator = OperatorEnumerator(builder, TaskSpace(space.index, space.task), CHUNK)
        counts = windows.counts
        lo = min(windows.worker_from.values())
        scored = []
        for count in sorted(set(counts.distinct(lo, windows.last))):
            index = counts.index_at_least(count)
            per_role = {
                "worker": [
                    (m, v)
                    for m in options.models["worker"]
                    if windows.worker_from[m] <= index
                    for v in options.votes["worker"]
                ]
            }
            if "aggregator" in options.models:
                per_role["aggregator"] = [
                    (m, v)
                    for m in options.models["aggregator"]
                    if windows.aggregator_span[m][0] <= index <= windows.aggregator_span[m][1]
                    for v in options.votes["aggregator"]
                ]
            roles = list(per_role)
            for combo in itertools.product(*per_role.values()):
                choice = dict(zip(roles, combo, strict=True))
                candidate = enumerator.score(choice, {"chunk": windows.size_for(count)})
                if candidate.outcome.window_violation is None:
                    scored.append(candidate)
        key = builder.metrics.key
        front = pareto_filter(scored, key)
        assert [key(c) for c in front] == [key(c) for c in space.by_operator[CHUNK]], name
