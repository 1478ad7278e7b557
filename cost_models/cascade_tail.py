"""A cascade's random cost: which stage it stops at, and the 95th percentile of plans of them.

A CASCADE task stops after stage ``j`` with chance ``r_j − r_{j+1}`` (``r_j``: the chance
stage ``j`` runs), having paid ``c_1 + … + c_j``: a distribution on a few atoms, whose
variance counts the stages' nesting (stage ``k`` runs only if stage ``i < k`` did) and
whose quantiles are exact. A plan whose random costs are all cascades gets its exact 95th
percentile from the convolution of its cascades' atoms (:func:`cascades_quantile`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aalps.cost_models.arithmetic import Value

__all__ = ["MAX_ATOMS", "CascadeTail", "cascade_tail", "cascades_quantile"]

#: The most atoms a convolution of cascades keeps before the quantile is left to the
#: moment-matched approximation.
MAX_ATOMS = 1 << 14


@dataclass(frozen=True)
class CascadeTail:
    """A cascade's cost distribution: ``atoms`` of (cost, chance), and its mean."""

    atoms: tuple[tuple[float, float], ...]
    mean: float

    @property
    def variance(self) -> float:
        return math.fsum(p * (c - self.mean) ** 2 for c, p in self.atoms)


def cascade_tail(stops: Sequence[tuple[Value, Value]]) -> tuple[float, CascadeTail]:
    """(Variance, distribution) of a cascade's cost from its stages' (chance the stage
    runs, the stage's expected cost), in stage order; stages that never run are left out.

    ``Var = Σ_i Σ_k c_i·c_k·(r_max(i,k) − r_i·r_k)`` with ``c_j`` the cost of one run of
    stage ``j``: the variance of the atoms.
    """
    runs = [(float(r), float(spent) / float(r)) for r, spent in stops if float(r) > 0]
    atoms = []
    paid = 0.0
    for j, (r, c) in enumerate(runs):
        paid += c
        after = runs[j + 1][0] if j + 1 < len(runs) else 0.0
        atoms.append((paid, r - after))
    tail = CascadeTail(tuple(atoms), math.fsum(r * c for r, c in runs))
    return tail.variance, tail


def cascades_quantile(tails: Sequence[CascadeTail], level: float = 0.95) -> float | None:
    """The exact ``level`` quantile of the sum of independent cascades' costs, or None when
    the convolution would exceed :data:`MAX_ATOMS` atoms."""
    total: dict[float, float] = {0.0: 1.0}
    for tail in tails:
        if len(total) * len(tail.atoms) > MAX_ATOMS:
            return None
        merged: dict[float, float] = {}
        for cost, p in total.items():
            for c, q in tail.atoms:
                merged[cost + c] = merged.get(cost + c, 0.0) + p * q
        total = merged
    reached = 0.0
    for cost in sorted(total):
        reached += total[cost]
        if reached >= level - 1e-12:
            return cost
    return max(total)
