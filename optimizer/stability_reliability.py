"""A reliability's stability range: scanned on a grid of factors, its ends refined by
:func:`~aalps.optimizer.stability_scan.scan`, each probe asking whether the plan is still
optimal among its single-task alternatives, or against one of them
(:mod:`aalps.optimizer.stability_probe`).

A full probe skips the alternatives whose floors cannot beat the best objective met so far:
down the scan the far end's floors are the request's own figures, up it those at the clip
(reliability 1), scored on first need (:mod:`aalps.optimizer.stability_floors`). An
alternative scored at a probed factor nearer than the far end bounds it the same way there
(on the floors' assumption), and tighter: the scan's full probes are ordered so that the
check of its end comes after the probe just past it.
"""

from __future__ import annotations

import math

import numpy as np
from aalps.cost_models.domain import Model, Operator, TaskPlan
from aalps.cost_models.evaluation import TaskOutcome
from aalps.optimizer.scaled_figures import RELIABILITY
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_floors import Bounds, UpFloors, success_caps
from aalps.optimizer.stability_probe import Alternatives, Probe, against, optimal_at
from aalps.optimizer.stability_range import TIE, StabilityRange
from aalps.optimizer.stability_scan import Verdict, scan
from aalps.optimizer.stability_shared import SharedScorer

__all__ = ["RELIABILITY_FLOOR", "reliability_range"]

#: Reliability factors are scanned down to this one; below it the range is not claimed.
RELIABILITY_FLOOR = 1e-3
#: Reliability factors tried below 1 before refining (nearest first).
_DOWN = (0.99, 0.9, 0.5, 0.1, RELIABILITY_FLOOR)
#: Fractions of the way to the clip (reliability 1) tried above 1: a fifth first, so that a
#: takeover near 1 is found in a shorter bracket, without probing the clip.
_UP = (0.2, 1.0)


def reliability_range(context: StabilityContext, model: Model, capability: str) -> StabilityRange:
    """A reliability's range: scanned on a grid of factors, its ends refined
    (:func:`~aalps.optimizer.stability_scan.scan`)."""
    reliability = float(model.capabilities[capability])
    table = Alternatives(context, model.name, capability)
    alts = [table.plans[j] for j in table.again_at.tolist()]
    moved = [
        i for i, tp in enumerate(context.tasks) if context.involves(tp, model.name, capability)
    ]
    up = 1.0 / reliability if reliability > 0 else math.inf
    floors: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    up_floors: list[UpFloors] = []  # the up scan's, scored on first need
    # Per factor one scaled evaluator (the scan checks a factor again against every
    # alternative, and the far end's floors are taken at the first factor up): the task
    # plans scored there are scored once.
    evaluators: dict[float, SharedScorer] = {}
    probes: dict[float, Probe] = {}
    bounds_of: dict[tuple[bool, bool], Bounds] = {}
    # A full probe's answer per factor: the scan checks some factors against every
    # alternative twice (the refinement's end after its grid factor), and the answer is the same.
    answers: dict[float, Verdict] = {}
    # Per probed factor, the alternatives using the figure scored there (their places, cost
    # and success): on the floors' assumption, they bound those alternatives at any factor
    # below on the same side of 1, tighter than the far end's floors.
    scored_at: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def scaled_at(factor: float) -> SharedScorer:
        scaled = evaluators.get(factor)
        if scaled is None:
            scaled = evaluators[factor] = context.scorer(
                context.scaled(model.name, RELIABILITY, factor, capability)
            )
        return scaled

    def takeover(factor: float, only: TaskPlan | None = None) -> Verdict:
        """(still optimal, the task plans of the best alternative when not, the gap to
        ``only``); ``only``: against that alternative alone."""
        if only is not None:
            # At factor 1 the request's own figures (the pool's): no evaluator to make.
            scaled = scaled_at(factor) if factor != 1.0 else context.pool.scorer
            probe = probes.get(factor)
            if probe is None:
                probe = probes[factor] = Probe.of(context, scaled, moved if factor != 1.0 else ())
            scored: list[tuple[int, TaskOutcome]] = []
            verdict = against(context, scaled, table, probe, only, scored)
            if scored and factor != 1.0:
                _record(scored_at, factor, scored)
            return verdict
        known = answers.get(factor)
        if known is not None:
            return known
        scaled = scaled_at(factor)
        down = factor < 1.0
        if down not in floors:  # each direction's floors, once: at its far end
            if down:  # the request's own figures, the pool's
                found = context.pool.figures(table.ids[table.again_at])
                floors[down] = found.cost, found.success
            else:  # scored there on first need (:mod:`.stability_floors`)
                caps = success_caps(context.evaluator, alts)
                up_floors.append(UpFloors(alts, caps, scaled_at(up).task_outcome))
                floors[down] = up_floors[0].cost, up_floors[0].success
        # AHEAD_BY_K is monotone in the reliability above 1/2 only (as the enumeration's).
        monotone = reliability * factor > 0.5
        bounds = bounds_of.get((down, monotone))
        if bounds is None:
            cost, success = floors[down]
            fixed = None
            ahead = (
                np.array([alt.operator is Operator.AHEAD_BY_K for alt in alts], dtype=bool)
                if not monotone
                else None
            )
            if ahead is not None and ahead.any():
                cost, success = np.where(ahead, 0.0, cost), np.where(ahead, 1.0, success)
                fixed = ahead
            bounds = bounds_of[down, monotone] = Bounds(
                len(table.plans),
                table.again_at,
                cost,
                success,
                None if down else up_floors[0],
                fixed,
            )
        nearer = sorted((f for f in scored_at if f >= factor and (f < 1.0) == down), reverse=True)
        if nearer:  # the nearest last, so that its figures stand
            bounds = bounds.tightened(
                *(np.concatenate([scored_at[f][k] for f in nearer]) for k in range(3))
            )
        probe = probes.get(factor)
        if probe is None:
            probe = probes[factor] = Probe.of(context, scaled, moved)
        scored = []
        ok, plans = optimal_at(context, scaled, table, bounds, probe, scored)
        answer = answers[factor] = Verdict(ok, plans)
        if scored:
            _record(scored_at, factor, scored)
        return answer

    high, above = scan(takeover, [1.0 + (up - 1.0) * t for t in _UP] if up > 1.0 else [])
    low, below = scan(takeover, list(_DOWN))
    return StabilityRange(
        model.name,
        RELIABILITY,
        low,
        high if above or high < up * (1 - TIE) else math.inf,
        below,
        above,
        capability=capability,
        conditional=context.conditional,
    )


def _record(
    scored_at: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]],
    factor: float,
    scored: list[tuple[int, TaskOutcome]],
) -> None:
    """The alternatives using the figure ``scored`` at ``factor`` added to ``scored_at``."""
    places = np.array([j for j, _ in scored], dtype=np.intp)
    cost = np.array([o.expected_cost for _, o in scored], dtype=float)
    success = np.array([o.success_probability for _, o in scored], dtype=float)
    known = scored_at.get(factor)
    if known is not None:
        places, cost, success = (
            np.concatenate([a, b]) for a, b in zip(known, (places, cost, success), strict=True)
        )
    scored_at[factor] = places, cost, success
