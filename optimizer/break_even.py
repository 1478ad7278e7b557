"""The break-even volume of a setup: beyond how many runs paying it once beats not paying it.

A model's ``setup_cost`` (:mod:`aalps.cost_models.setup_costs`) is amortized over the
request's ``volume``. Two plans frame the decision: the best plan when setups cost nothing
per run (the limit of a volume without end), and the best plan that uses no model with a
setup. With ``S`` the first plan's setup and ``c`` each plan's objective per run (its
expected cost per run, or under COST_OF_PASS that divided by its success probability, and
then ``S`` divided by it too), the setup plan wins at volume ``V`` iff ``S/V + c_with <
c_without``: the break-even volume is ``S / (c_without − c_with)``, none when the setup
plan saves nothing per run. In-context distillation (arXiv 2512.02543): a $29.5 setup that
takes a run from $0.059 to $0.024 breaks even after 29.5 / 0.035 ≈ 843 runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from aalps.cost_models.domain import Catalog, OptimizeRequest, SearchObjective
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.evaluation import PlanEvaluation, PlanEvaluator
from aalps.cost_models.outcomes import PlanOutcome
from aalps.cost_models.setup_costs import MAX_VOLUME

__all__ = ["SetupBreakEven", "break_even", "per_run_objective"]


@dataclass(frozen=True)
class SetupBreakEven:
    """The best plans with and without a setup, and the volume where they cost the same."""

    with_setup: PlanEvaluation
    without_setup: PlanEvaluation | None
    break_even_volume: float | None
    text: str


def per_run_objective(request: OptimizeRequest, outcome: PlanOutcome) -> tuple[float, float]:
    """A plan's objective per run without its setup, and its setup in the same units."""
    per_run, setup = outcome.per_run_cost, outcome.setup_cost
    if request.search.objective is SearchObjective.COST_OF_PASS:
        p = outcome.success_probability
        return (per_run / p, setup / p) if p > 0 else (math.inf, math.inf)
    return per_run, setup


def break_even(
    request: OptimizeRequest, cheapest: Callable[[OptimizeRequest], PlanEvaluation]
) -> SetupBreakEven | None:
    """The break-even of the request's setups (None when no model has a setup cost).

    ``cheapest(request)`` is the best plan of a request (its search, without extras); it
    is run twice: at the largest volume, and on the catalog without the setup models.
    """
    models = request.catalog.models
    if not any(m.setup_cost for m in models):
        return None
    evaluator = PlanEvaluator(request)
    best = evaluator.evaluate(cheapest(replace(request, volume=MAX_VOLUME)).plan)
    plain = tuple(m for m in models if not m.setup_cost)
    without = None
    if plain:
        try:
            found = cheapest(replace(request, catalog=Catalog(plain)))
            without = evaluator.evaluate(found.plan)
        except InfeasibleError:
            without = None
    if best.outcome.setup_cost == 0:
        return SetupBreakEven(best, without, None, "no setup pays at any volume")
    if without is None:
        return SetupBreakEven(best, None, None, "every plan needs a setup")
    c_with, setup = per_run_objective(request, best.outcome)
    c_without, _ = per_run_objective(request, without.outcome)
    saving = c_without - c_with
    if not saving > 0 or not math.isfinite(c_without):
        return SetupBreakEven(best, without, None, "the setup saves nothing per run")
    volume = setup / saving
    text = (
        f"a setup of {best.outcome.setup_cost:.6g} saves {saving:.6g} per run: "
        f"it pays beyond {volume:.6g} runs"
    )
    return SetupBreakEven(best, without, volume, text)
