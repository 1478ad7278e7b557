"""Skipping AHEAD_BY_K leads past a certain chain (:mod:`aalps.optimizer.lead_saturation`)
loses nothing.

Two references on seeded requests whose success matters (every lead is scored): the same
enumeration with the saturation switched off (the same candidates must survive, plan for
plan, figure for figure, in the same order, with fewer or as many scored), and an
independent exhaustive one: every worker model × every lead scored straightforwardly, then
the Pareto front taken (the same figures). Some cases give models a vote correlation, whose
workers are never skipped.
"""

from __future__ import annotations

import copy
from typing import Any

import aalps.optimizer.lead_saturation as lead_saturation
import pytest
from aalps.cost_models.domain import Operator
from aalps.optimizer.enumeration import OperatorEnumerator
from aalps.optimizer.pareto import pareto_filter
from aalps.optimizer.space import Candidate, TaskSpace

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.space_summaries import spaces_with_builder

AHEAD = Operator.AHEAD_BY_K


def _correlated(data: dict[str, Any], rho: float) -> dict[str, Any]:
    """``data`` with every other model's samples correlated by ``rho``."""
    data = copy.deepcopy(data)
    for model in data["catalog"]["models"][::2]:
        model["vote_correlation"] = rho
    return data


CASES: list[tuple[str, dict[str, Any]]] = [
    *((f"random {s}", random_request_data(s)) for s in range(1, 41)),
    *((f"wide {s}", wide_request_data(s, 40, 8)) for s in range(4)),
    *(
        (f"wide {s}, success >= 0.5", wide_request_data(s, 30, 8, min_success_probability=0.5))
        for s in range(2)
    ),
    *((f"wide {s}, correlated", _correlated(wide_request_data(s, 30, 8), 0.2)) for s in range(2)),
]


def _figures(candidates: tuple[Candidate, ...] | list[Candidate]) -> list[Any]:
    return [(c.plan, c.outcome, c.far) for c in candidates]


def test_the_cases_hold_ahead_by_k_tasks_and_skip_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: the correlated cases have AHEAD_BY_K tasks, and a wide request skips."""
    spaces = [space for _, data in CASES[-2:] for space in spaces_with_builder(data)[1]]
    tasks = sum(AHEAD in space.operators for space in spaces)
    assert tasks >= 2
    data = wide_request_data(0, 40, 8)
    fast = sum(s.scored for s in spaces_with_builder(data)[1])
    monkeypatch.setattr(lead_saturation.LeadSaturation, "scored", lambda self, found: None)
    assert fast < sum(s.scored for s in spaces_with_builder(data)[1])


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_skipping_leads_keeps_the_same_candidates(
    name: str, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, fast = spaces_with_builder(data)
    monkeypatch.setattr(lead_saturation.LeadSaturation, "scored", lambda self, found: None)
    _, full = spaces_with_builder(data)
    for mine, theirs in zip(fast, full, strict=True):
        assert _figures(mine.by_operator.get(AHEAD, ())) == _figures(
            theirs.by_operator.get(AHEAD, ())
        ), name
        assert _figures(mine.candidates) == _figures(theirs.candidates)
        assert mine.operators.get(AHEAD) == theirs.operators.get(AHEAD)
        assert mine.problems == theirs.problems and mine.exact == theirs.exact
        assert mine.scored <= theirs.scored


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_the_ahead_by_k_candidates_are_the_exhaustive_front(
    name: str, data: dict[str, Any]
) -> None:
    builder, spaces = spaces_with_builder(data)
    for space in spaces:
        options = space.operators.get(AHEAD)
        if options is None:
            continue
        enumerator = OperatorEnumerator(builder, TaskSpace(space.index, space.task), AHEAD)
        leads = [params["ahead"] for params in enumerator._param_grid()]
        scored = [
            enumerator.score({"worker": (model, 1)}, {"ahead": lead})
            for lead in leads
            for model in options.models["worker"]
        ]
        fitting = [c for c in scored if c.outcome.window_violation is None]
        key = builder.metrics.key
        front = pareto_filter(fitting, key)
        assert _figures(front) == _figures(space.by_operator[AHEAD]), name
