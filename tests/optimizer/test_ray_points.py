"""Evaluators of a request's ray points: one per point while in use, role figures shared.

:meth:`~aalps.cost_models.evaluation.PlanEvaluator.at` hands back the evaluator it built at
a point while that one lives (the crossover search reads the far point the search scored),
the evaluators whose models have the same sizes share the models' and roles' figures, and a
point's defined parameters skip sympy's ``Mul`` (:mod:`tests.cost_models.test_ray_values`).
The oracle is the path without them: a fresh evaluator per request for a point, or per call
of ``at`` with tables of its own and the parameters' values by the general rule; figures
are compared bit for bit, and the crossovers found (their factors, values, texts and plans)
exactly.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest
import sympy
import yaml
from aalps.cost_models import evaluation
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize, swap_curve
from aalps.optimizer.result import OptimizeResult
from aalps.proto.convert import crossover_to_proto

from tests.cost_models.test_task_scoring import _plans, _same
from tests.optimizer.random_requests import wide_request_data

FAR = 1e6
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _general_values(graph: Any, scale: float) -> dict[sympy.Symbol, sympy.Float]:
    """:func:`~aalps.cost_models.shapes.ray_values` by the general rule alone."""
    if scale == 1.0:
        return {s: sympy.Float(v, 30) for s, v in graph.values.items()}
    values: dict[sympy.Symbol, sympy.Float] = {}
    for p in graph.parameters:
        if p.expr is None:
            values[p.symbol] = sympy.Float(p.value * scale if p.grows else p.value, 30)
    for symbol, expr in graph.substitutions.items():
        values[symbol] = sympy.Float(sympy.N(expr.xreplace(values), 30), 30)
    return values


def _unshared_at(self: PlanEvaluator, scale: float) -> PlanEvaluator:
    """``at`` without the shortcuts: a new evaluator per call, with tables of its own."""
    fresh = PlanEvaluator(self.request, scale=scale, facts=self.facts, siblings=self._siblings)
    fresh._numbers, fresh._role_calls = {}, {}
    return fresh


def _routing() -> OptimizeRequest:
    """A request whose model's size grows along the ray (``k*m_s``)."""
    return load_request(yaml.safe_load((EXAMPLES / "k_task_routing.yaml").read_text()))


def test_the_evaluator_at_a_point_is_the_one_in_use() -> None:
    base = PlanEvaluator(load_request(wide_request_data(1, 6, 4)))
    far = base.at(FAR)
    assert base.at(FAR) is far and far.at(FAR) is far
    assert base.at(2.0) is not far and base.at(2.0).scale == 2.0
    first = weakref.ref(far)
    del far
    gc.collect()
    assert first() is None and FAR not in base._siblings.points
    again = base.at(FAR)
    assert again.scale == FAR and base.at(FAR) is again


@pytest.mark.parametrize(
    ("name", "request_"),
    [("wide", load_request(wide_request_data(2, 8, 5))), ("routing", _routing())],
)
def test_a_point_scored_by_others_first_equals_a_fresh_evaluator(
    name: str, request_: OptimizeRequest
) -> None:
    """Every task plan scored at points the scale point and other points scored first
    (sharing their role figures, and the evaluator at the point itself) equals a fresh
    evaluator's figures there."""
    base = PlanEvaluator(request_)
    plans = list(_plans(base))
    for scale in (1.0, 3.5, FAR):
        point = base if scale == 1.0 else base.at(scale)
        for plan in plans:
            try:
                point.task_outcome(plan)
            except Exception:  # noqa: BLE001, S112 - the fresh one raises alike (below)
                continue
    for scale in (3.5, 7.25, FAR):
        point = base.at(scale)
        fresh = PlanEvaluator(request_, scale=scale)
        for plan in plans:
            try:
                reference = fresh.task_outcome(plan)
            except Exception as error:  # noqa: BLE001
                with pytest.raises(type(error)):
                    PlanEvaluator(request_, scale=scale).task_outcome(plan)
                continue
            assert _same(point.task_outcome(plan), reference), (name, scale, plan)


def test_role_figures_are_shared_where_the_models_sizes_stay() -> None:
    base = PlanEvaluator(load_request(wide_request_data(2, 8, 5)))
    for scale in (3.5, FAR):
        point = base.at(scale)
        assert point._role_calls is base._role_calls and point._numbers is base._numbers
    routing = PlanEvaluator(_routing())
    near, far = routing.at(3.5), routing.at(FAR)
    assert near._model_sizes != routing._model_sizes != far._model_sizes
    assert near._role_calls is not routing._role_calls
    assert far._role_calls is not near._role_calls and far._numbers is not near._numbers
    same = PlanEvaluator(routing.request, scale=FAR, facts=far.facts, siblings=far._siblings)
    assert same._role_calls is far._role_calls


def _crossovers(result: OptimizeResult) -> list[str]:
    texts = []
    for crossover in result.crossovers:
        message = crossover_to_proto(crossover)
        texts.append(f"{message} {crossover.scale.hex()} {crossover.at.hex()}")
    return texts


@pytest.mark.parametrize(("seed", "tasks", "models"), [(1, 50, 20), (3, 120, 8)])
def test_crossovers_equal_the_unshared_paths(
    seed: int, tasks: int, models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole optimization's crossovers (regula falsi at 50 tasks, swap curves at 120)
    equal those found with a fresh evaluator per ``at`` and the general parameter values."""
    curves: list[int] = []
    single = swap_curve.SwapCurve.single_crossing

    def counted(self: swap_curve.SwapCurve, lo: float, hi: float) -> bool:
        curves.append(1)
        return single(self, lo, hi)

    monkeypatch.setattr(swap_curve.SwapCurve, "single_crossing", counted)
    request = load_request(wide_request_data(seed, tasks, models))
    mine = optimize(request)
    with monkeypatch.context() as off:
        off.setattr(PlanEvaluator, "at", _unshared_at)
        off.setattr(evaluation, "ray_values", _general_values)
        reference = optimize(load_request(wide_request_data(seed, tasks, models)))
    assert len(mine.crossovers) >= 3
    assert _crossovers(mine) == _crossovers(reference)
    assert [c.scale for c in mine.crossovers] == [c.scale for c in reference.crossovers]
    assert bool(curves) == (tasks >= 100)
