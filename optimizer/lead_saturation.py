"""AHEAD_BY_K leads that a shorter lead of the same worker provably beats: skipped unscored.

The enumeration tries every lead up to the longest useful one of *any* capable model
(:func:`~aalps.optimizer.param_values.lead_values`), so a reliable worker is scored at many
leads past the one where its chain is already certain: there its success is 1.0 exactly
and every longer lead only costs more. :class:`LeadSaturation` remembers the workers that
reached that point and leaves them out of the longer leads; the candidates left are those
of the full enumeration minus dominated ones, in the same order, so the Pareto filters
downstream keep the same plans (only the count of scored candidates falls).

Why a skipped lead loses nothing
--------------------------------
Let ``k = (w, a1)`` be a scored candidate whose log success is exactly 0.0 at the scale
point and, when the far point's figures are scored, there too; ``c = (w, a2)`` the same
worker option at a later lead ``a2 > a1`` (leads are enumerated in increasing order). With
independent samples (the worker's ``ρ`` is 0) the schedule is
(:meth:`~aalps.cost_models.operators.voting.AheadByK.schedule`), at both points:

* the reliability ``p`` per sample does not depend on the lead (the step's input does not);
* the lead used is ``a`` at the scale point and ``lead_at_scale(p, a, ·)`` far away, both
  nondecreasing in ``a``;
* the expected samples per step ``k/(p−q)·(1−r^k)/(1+r^k)`` (``k`` at ``p = 1``) rise with
  the lead: a log success of 0 needs a step success of 1, so ``p > 1/2`` and ``r < 1``,
  where every factor is positive and each operation is monotone in its operands (IEEE and
  mpmath rounding are monotone), and ``r^k`` falls by the factor ``r`` per lead;
* the calls are the steps times the samples, their input and output fixed: the cost (each
  cost model's group cost grows with the number of calls; setup and tool shares do not
  move), the latency (rounds of the same size) and the variance follow the samples;
* the success is ``(1/(1+r^k))^steps`` (times the task's acceptance), never above 1.0, so
  its log is never above 0.0, the value ``k`` has.

So ``k`` is no worse than ``c`` in every figure a :class:`~aalps.optimizer.space.Metrics`
key holds, and ``k`` comes first (an earlier lead, an earlier index): the operator's Pareto
filter drops ``c`` whatever else is scored, and a candidate it drops never drops another.
The window check is the same at every lead (the calls' sizes do not depend on it), so the
feasible models and the reasons recorded do not change either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from aalps.cost_models.domain import Model
from aalps.optimizer.space import Candidate, Option

__all__ = ["LeadSaturation"]


class LeadSaturation:
    """The worker options of one AHEAD_BY_K task whose chain is already certain (see module)."""

    def __init__(self, workers: Mapping[str, Model], capability: str) -> None:
        # Only independent samples: the correlated figures come from a quadrature.
        self._independent = {
            name for name, model in workers.items() if model.correlation(capability) == 0.0
        }
        self._done: set[Option] = set()

    def live(self, options: Sequence[Option]) -> list[Option]:
        """``options`` without the saturated ones, in their order."""
        done = self._done
        return [o for o in options if o not in done] if done else list(options)

    def scored(self, candidates: Iterable[Candidate]) -> None:
        """Remember the worker options of ``candidates`` (one lead's) that are saturated."""
        for candidate in candidates:
            (assignment,) = candidate.plan.roles
            if assignment.ensemble or assignment.model not in self._independent:
                continue
            if candidate.outcome.log_success != 0.0:
                continue
            far = candidate.far
            if far is not None and far.log_success != 0.0:
                continue
            self._done.add((assignment.model, assignment.votes))
