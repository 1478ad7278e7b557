"""The reliability ranges' scan: the last factor along a grid where the plan stays optimal,
refined by bisection (:mod:`aalps.optimizer.stability`).

A ``takeover(factor, only=None)`` probe answers whether the plan is still optimal at
``factor`` (against every alternative, or ``only`` that one) and, when not, the task plans
that take over. A full probe scores every alternative; one against a single alternative
scores a few task plans, so the bisection runs on those and only its end is checked
against all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from aalps.cost_models.domain import TaskPlan

__all__ = ["RESOLUTION", "scan"]

#: Bisection stops when the last good and first bad factors are this close (log ratio).
RESOLUTION = 4e-3

#: ``takeover(factor, only)``: (still optimal, the task plans that take over when not).
Takeover = Callable[[float, TaskPlan | None], tuple[bool, tuple[TaskPlan, ...]]]


def scan(takeover: Takeover, grid: Iterable[float]) -> tuple[float, tuple[TaskPlan, ...]]:
    """The last factor along ``grid`` (from 1 outwards) where the plan is still optimal,
    within :data:`RESOLUTION` of one where the task plans returned take over (none: where
    the plan itself breaks a constraint; the last grid factor with none when it never
    stops being optimal).

    The bisection compares the plan with the alternative that took over alone, then checks
    its end against all of them: if another one wins there, it bisects again against that
    one, from the last factor known to be optimal. The plans named are the optimum's at the
    first factor past the end, found against every alternative.
    """
    good = 1.0
    for factor in grid:
        ok, plans = takeover(factor, None)
        if ok:
            good = factor
            continue
        known, bad = good, factor
        while True:
            while abs(math.log(bad / good)) > RESOLUTION:
                middle = math.sqrt(good * bad)
                ok, found = takeover(middle, plans[0] if plans else None)
                if ok:
                    good = middle
                else:
                    bad, plans = middle, found
            if good != known:
                ok, found = takeover(good, None)
                if not ok:
                    bad, plans, good = good, found, known
                    continue
            # The bisection's alternative beats the plan at ``bad``; the optimum there,
            # the plan the range names, may be another one.
            ok, found = takeover(bad, None)
            return good, plans if ok else found
    return good, ()
