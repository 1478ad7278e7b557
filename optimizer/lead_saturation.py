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

Another worker's cap (:meth:`LeadSaturation.scored` with ``caps``)
------------------------------------------------------------------
A plan's success is ``s^steps·A``: ``A`` the task's acceptance factor (``acceptance^units``
on a task with an acceptance, else 1) and ``s ≤ 1`` the step success, so no plan of the
task, at any lead, has a success above ``A`` (a product of floats no greater than 1 and
``A``, rounded monotonically) nor a log success above ``log A``. Let ``y`` be any scored
candidate whose success figures in the key are at that cap (its log success is ``log A``
exactly, at each point the key reads it), and ``k = (w, a)`` a scored candidate of a worker
``w`` that is independent and right more than half the time (``p > 1/2``: no per-token
error and a reliability above 1/2, the ``p`` its role declares). When
``y`` is no dearer than ``k`` in every other figure of the key (log cost and latency at the
scale point, log cost far away), ``y`` beats every later lead ``c = (w, a2)``: the samples,
and with them the calls, the cost and the rounds, only grow with the lead (as above), and
``c``'s success is at most the cap. ``y`` was scored before ``c`` (at this lead or an
earlier one), so the operator's filter drops ``c``, and the leads of ``w`` after ``a`` are
left out. Two guards keep every figure of ``c`` in floats, where the bounds above hold:
``A ≥`` :data:`CAP_FLOOR` (a success that underflows, whose log comes from mpmath, is then
far below the cap), and ``k``'s costs are at most :data:`COST_CEILING` (with ``p > 1/2``
in floats, ``p − q ≥ 2⁻⁵²``, the samples of any lead and point grow by less than 10³⁵ over
``k``'s, so no cost overflows into mpmath). The test compares the spaces with the
enumeration without it (``prune=False``: the rule of the section above alone).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from aalps.cost_models.domain import Model, Task
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.space import Candidate, Metrics, Option

__all__ = ["CAP_FLOOR", "COST_CEILING", "LeadSaturation", "success_cap"]

#: The least acceptance factor whose log serves as a cap: far above a float's underflow.
CAP_FLOOR = 1e-200
#: The largest cost of a candidate whose worker's later leads another's cap may skip.
COST_CEILING = 1e200


def success_cap(task: Task, evaluator: PlanEvaluator) -> float | None:
    """The log of the most a plan of ``task`` can succeed at ``evaluator``'s ray point,
    computed as the scoring multiplies it in (the acceptance factor), or None when not
    usable (below :data:`CAP_FLOOR`, or not a float)."""
    if task.acceptance is None:
        return 0.0
    try:
        shape = evaluator._compiled[task.id].numeric
        units = shape.block_count if shape.block_count != 0 else 1
        most = shape.acceptance**units  # as :func:`~aalps.cost_models.task_scoring.run_schedule`
    except Exception:  # noqa: BLE001 - no cap: the task's own scoring reports its errors
        return None
    if type(most) is not float or not CAP_FLOOR <= most <= 1.0:
        return None
    return math.log(most)


class LeadSaturation:
    """The worker options of one AHEAD_BY_K task whose later leads lose (see module)."""

    def __init__(
        self,
        workers: Mapping[str, Model],
        capability: str,
        metrics: Metrics | None = None,
        caps: tuple[float | None, float | None] | None = None,
    ) -> None:
        # Only independent samples: the correlated figures come from a quadrature.
        self._independent = {
            name for name, model in workers.items() if model.correlation(capability) == 0.0
        }
        self._above_half = {
            name
            for name in self._independent
            if workers[name].per_token_error == 0
            and float(workers[name].capabilities[capability]) > 0.5
        }
        self._metrics = metrics
        self._caps = caps  # log success caps (scale point, far point); None: own cap only
        self._tops: list[Candidate] = []  # scored candidates at the cap
        self._done: set[Option] = set()

    def live(self, options: Sequence[Option]) -> list[Option]:
        """``options`` without the saturated ones, in their order."""
        done = self._done
        return [o for o in options if o not in done] if done else list(options)

    def scored(self, candidates: Iterable[Candidate]) -> None:
        """Remember the worker options of ``candidates`` (one lead's) that are saturated."""
        found = list(candidates)
        if self._caps is not None:
            self._tops.extend(c for c in found if self._at_cap(c))
        for candidate in found:
            (assignment,) = candidate.plan.roles
            if assignment.ensemble or assignment.model not in self._independent:
                continue
            if self._certain(candidate) or self._beaten(candidate, assignment.model):
                self._done.add((assignment.model, assignment.votes))

    @staticmethod
    def _certain(candidate: Candidate) -> bool:
        """Its chain is certain at both points: the first section's rule."""
        far = candidate.far
        return candidate.outcome.log_success == 0.0 and (far is None or far.log_success == 0.0)

    def _at_cap(self, candidate: Candidate) -> bool:
        """Whether the success figures of ``candidate``'s key are at the task's cap."""
        metrics, caps = self._metrics, self._caps
        assert metrics is not None and caps is not None
        near, far = caps
        if metrics.success and (near is None or candidate.outcome.log_success != near):
            return False
        if metrics.far and metrics.ratio and candidate.far is not None:
            return far is not None and candidate.far.log_success == far
        return True

    def _beaten(self, candidate: Candidate, worker: str) -> bool:
        """Whether a candidate at the cap is no dearer than ``candidate`` (of ``worker``)
        in every other figure of the key, within the guards: the second section's rule."""
        if not self._tops:
            return False
        metrics = self._metrics
        assert metrics is not None
        near, far = candidate.outcome, candidate.far
        if worker not in self._above_half or not near.expected_cost <= COST_CEILING:
            return False
        if far is not None and not far.expected_cost <= COST_CEILING:
            return False
        far_cost = far.log_cost if metrics.far and far is not None else None
        for top in self._tops:
            if top.outcome.log_cost > near.log_cost:
                continue
            if metrics.latency and top.outcome.latency > near.latency:
                continue
            if far_cost is not None and (top.far is None or top.far.log_cost > far_cost):
                continue
            return True
        return False
