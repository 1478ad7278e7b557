"""The reliability ranges' scan: the last factor along a grid where the plan stays optimal,
refined to within :data:`RESOLUTION` of one where another plan wins
(:mod:`aalps.optimizer.stability`).

A ``takeover(factor, only=None)`` probe answers whether the plan is still optimal at
``factor`` (against every alternative, or ``only`` that one), the task plans that take over
when not, and, against one alternative, the *gap*: how far that alternative's objective is
above the plan's beyond the tie, relative to the plan's (at least 0 where the plan stays
optimal against it; NaN where not a finite number). A full probe scores every alternative;
one against a single alternative scores a few task plans, so the refinement runs on those
and only its ends are checked against all.

The refinement shrinks the bracket [last factor where the plan is optimal, first where the
alternative wins] in log factor, at regula falsi's estimate of where the gap crosses 0 (the
Anderson-Björck variant: the gap of an end kept twice in a row is scaled down), kept at least
:data:`_NEAR` inside both ends: once the estimate is that near the crossing, the next probe
lands past it and the bracket closes. Where a gap is not finite, or after as many steps as
bisection would take, it bisects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

from aalps.cost_models.domain import TaskPlan

__all__ = ["RESOLUTION", "Verdict", "scan"]

#: The refinement stops when the last good and first bad factors are this close (log ratio).
RESOLUTION = 4e-3
#: A refining probe's least distance from the bracket's ends (log ratio): under half the
#: resolution, so that two probes about an accurate estimate close the bracket.
_NEAR = 0.45 * RESOLUTION


class Verdict(NamedTuple):
    """A probe's answer: whether the plan is still optimal, the task plans that take over
    when not, and the gap to the one alternative probed against (NaN after a full probe)."""

    ok: bool
    plans: tuple[TaskPlan, ...]
    gap: float = math.nan


#: ``takeover(factor, only)``: the :data:`Verdict` at ``factor``.
Takeover = Callable[[float, TaskPlan | None], Verdict]


def scan(takeover: Takeover, grid: Iterable[float]) -> tuple[float, tuple[TaskPlan, ...]]:
    """The last factor along ``grid`` (from 1 outwards) where the plan is still optimal,
    within :data:`RESOLUTION` of one where the task plans returned take over (none: where
    the plan itself breaks a constraint; the last grid factor with none when it never
    stops being optimal).

    The refinement compares the plan with the alternative that took over alone, then checks
    its ends against all of them: the end past the crossing first (the plans named are the
    optimum's there), then the last factor found optimal; if another alternative wins
    there, it refines again against that one, from the last factor known to be optimal.
    """
    good = 1.0
    for factor in grid:
        ok, plans, _ = takeover(factor, None)
        if ok:
            good = factor
            continue
        known, bad = good, factor
        while True:
            good, bad, plans = _refine(takeover, good, bad, plans)
            # The refinement's alternative beats the plan at ``bad``; the optimum there,
            # the plan the range names, may be another one. Probed before ``good``: the
            # alternatives scored there bound them at ``good`` tightly.
            named = takeover(bad, None)
            if good != known:
                ok, found, _ = takeover(good, None)
                if not ok:
                    bad, plans, good = good, found, known
                    continue
            ok, found, _ = named
            return good, plans if ok else found
    return good, ()


def _refine(
    takeover: Takeover, good: float, bad: float, plans: tuple[TaskPlan, ...]
) -> tuple[float, float, tuple[TaskPlan, ...]]:
    """``[good, bad]`` shrunk to within :data:`RESOLUTION`: the plan at least as good as the
    alternative ``plans[0]`` at ``good``, beaten by the plans returned at ``bad`` (against
    every alternative by full probes when ``plans`` names none)."""
    only = plans[0] if plans else None
    a, b = math.log(good), math.log(bad)
    if abs(b - a) <= RESOLUTION:
        return good, bad, plans
    gap_a = gap_b = math.nan
    if only is not None:
        gap_a, gap_b = takeover(good, only).gap, takeover(bad, only).gap
    steps = math.ceil(math.log2(abs(b - a) / RESOLUTION))  # bisection's count
    kept = 0  # the end kept by the last step: -1 ``a``, 1 ``b``
    while abs(b - a) > RESOLUTION:
        x = _step(a, b, gap_a, gap_b) if steps > 0 else a + (b - a) / 2
        steps -= 1
        factor = math.exp(x)
        ok, found, gap = takeover(factor, only)
        if ok:
            if kept == 1:
                gap_b *= _shrink(gap, gap_a)
            a, gap_a, good, kept = x, gap, factor, 1
        else:
            if kept == -1:
                gap_a *= _shrink(gap, gap_b)
            b, gap_b, bad, plans, kept = x, gap, factor, found, -1
    return good, bad, plans


def _step(a: float, b: float, gap_a: float, gap_b: float) -> float:
    """The next probe between ``a`` (gap ``gap_a`` at least 0) and ``b`` (``gap_b`` below
    0): regula falsi's, at least :data:`_NEAR` from both; the middle where the gaps do not
    bracket a crossing."""
    width = abs(b - a)
    if not (gap_a >= 0.0 > gap_b and math.isfinite(gap_a) and math.isfinite(gap_b)):
        return a + (b - a) / 2
    near = min(_NEAR / width, 0.5)
    t = min(max(gap_a / (gap_a - gap_b), near), 1.0 - near)
    return a + (b - a) * t


def _shrink(new: float, old: float) -> float:
    """Anderson-Björck's factor on the gap of the end kept twice in a row, ``new`` the gap
    of the end that moved, ``old`` its gap before (one half where that is no less)."""
    m = 1.0 - new / old if old != 0.0 else math.nan
    return m if 0.0 < m < 1.0 else 0.5
