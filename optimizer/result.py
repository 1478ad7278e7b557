"""What :func:`aalps.optimizer.optimize` and :func:`aalps.optimizer.analyze_plan` hand back.

Frozen records, free of Optuna and protobuf: the service and the CLI convert them to the
wire (``OptimizeResponse``) in their own converter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aalps.cost_models.bounds import Separation
from aalps.cost_models.errors import CancelledError
from aalps.cost_models.evaluation import PlanEvaluation
from aalps.optimizer.break_even import SetupBreakEven
from aalps.optimizer.stability import StabilityRange

__all__ = [
    "AnalysisResult",
    "Crossover",
    "OptimizeResult",
    "Progress",
    "SearchCancelled",
    "SearchStats",
]


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running search, passed to the ``progress`` callback.

    ``n_trials`` is the number of trials the search expects to run (exact paths record a
    handful of trials in the study; the Optuna phase runs ``search.n_trials``);
    ``best_expected_cost`` is the expected cost of the best feasible plan known so far.
    """

    trials_done: int
    n_trials: int
    best_expected_cost: float | None


@dataclass(frozen=True)
class Crossover:
    """Another plan that is dearer at the scale point but cheaper far along the scale ray.

    Along the scale ray (every growing parameter multiplied by ``scale`` from its scale
    point, defined parameters and growing model sizes following), ``plan`` becomes and stays
    the cheaper one beyond ``scale``; ``parameter`` is the first growing parameter
    (declaration order), ``at`` its value there, ``values`` every growing parameter's value
    there, all of which ``text`` names.
    """

    plan: PlanEvaluation
    parameter: str
    at: float
    scale: float
    values: Mapping[str, float]
    text: str


@dataclass(frozen=True)
class SearchStats:
    """How the plan was found.

    ``trials`` counts the trials the search evaluated (Optuna's; not the plans recorded
    into the study after the search, such as the optimum and the baseline), out of the
    ``n_trials`` asked; when it is fewer, ``stop_reason`` says why (an exact method that
    needed no trials, no improvement for a while, the time budget, a stop request).
    ``exhaustive`` is True when the returned plan (or front) is provably optimal: every
    candidate was scored; ``candidates`` counts the task plans (operator × models × votes ×
    parameters of one task) that were scored. ``method`` names what produced the plan (a
    :class:`~aalps.optimizer.coupled_search.Method` value: enumeration, branch and bound,
    pareto dp, pareto dp (epsilon), tpe, ...); ``gap`` is its proven relative gap to the
    optimum (0.0 when exact; None when nothing bounds it, as after Optuna). ``skipped``
    names the work that ``search.timeout_seconds`` cut short (the deadline counts from the
    first step: building the spaces, the warm starts, the search and the work after the
    plan): e.g. ``"crossovers"``, ``"asymptotic plan"``, ``"separation"``, or the tasks whose
    spaces were cut to DIRECT's choices; empty when everything ran.
    """

    trials: int
    exhaustive: bool
    seconds: float
    candidates: int
    method: str = ""
    gap: float | None = None
    skipped: tuple[str, ...] = ()
    n_trials: int = 0
    stop_reason: str = ""


@dataclass(frozen=True)
class OptimizeResult:
    """The cheapest plan, its naive baseline, their separation, and the search's extras.

    ``pareto_front`` is empty for single-objective requests; for multi-objective ones it
    holds the non-dominated feasible plans, cheapest first, and ``plan`` is its first entry.
    ``asymptotic_plan`` is the plan with the best objective far along the scale ray when it
    differs from ``plan`` (with ``search.rank_by: ASYMPTOTIC`` it *is* ``plan``, and this is
    None). ``stability``: per price (or size) and reliability of the models the plan uses,
    the factor range over which it stays optimal (:mod:`aalps.optimizer.stability`); empty
    for a Pareto front, a plan ranked asymptotically, or when the deadline cut it.
    ``baseline`` is None (and the extras empty) when ``optimize`` ran without analysis.
    """

    plan: PlanEvaluation
    baseline: PlanEvaluation | None
    separation: tuple[Separation, ...]
    pareto_front: tuple[PlanEvaluation, ...]
    crossovers: tuple[Crossover, ...]
    stats: SearchStats
    asymptotic_plan: PlanEvaluation | None = None
    stability: tuple[StabilityRange, ...] = ()
    setup: SetupBreakEven | None = None  # the setups' break-even (:mod:`.break_even`)


@dataclass(frozen=True)
class AnalysisResult:
    """A caller-supplied plan scored against a baseline, without any search."""

    plan: PlanEvaluation
    baseline: PlanEvaluation
    separation: tuple[Separation, ...]


#: ``should_stop()`` turned true before any feasible plan was known: the one cancel error of
#: aalps, :class:`aalps.cost_models.errors.CancelledError`, under the optimizer's name.
SearchCancelled = CancelledError
