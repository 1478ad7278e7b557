"""Crossovers: plans dearer at the scale point that win as the sizes grow.

The challengers of a plan are the asymptotically optimal plan (when it differs) and, per
task and operator, the one-task change that does best far along the scale ray — other
operators *and* other model assignments of every choice the search scored. A challenger
counts when it is feasible at the scale point, dearer there and cheaper at
:data:`~aalps.optimizer.ray.FAR_SCALE` (the request's objective: the cost of a correct result,
or the expected cost).

Where it becomes cheaper: the two plans' objectives are compared on a grid of the scale ray
up to the far point (a factor of 4 a step), each point scored numerically by an evaluator
built there (:meth:`~aalps.cost_models.evaluation.PlanEvaluator.at`: the same figures the
search compares, with growing model sizes and AHEAD_BY_K's growing lead), and the last sign
change is refined (:mod:`aalps.optimizer.ray_roots`): by two steps of regula falsi, then
gaps taken at the root of a cubic through the nearest (:func:`.bracket_root`: two thirds of
regula falsi's gaps), and for a one-task challenger of a large plan by gaps taken where the
swapped task plan's exact figures and the plan's interpolated cost place the crossing
(:mod:`aalps.optimizer.swap_curve`, :func:`.crossing_root`: a third of the gaps). Evaluators
are shared by every challenger of a request; a one-task challenger is scored by that task's
delta on the plan's totals, and the task plans whose figures do not move along the ray are
scored once for all its points (:mod:`aalps.optimizer.steady_tasks`); away from the scale
point a plan is summed for its cost and log-success alone
(:mod:`aalps.optimizer.ray_figures`), and a challenger that falls back to whole-plan figures
is scored from the plan's with its own task plans put in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from aalps.cost_models.domain import Plan, TaskPlan
from aalps.cost_models.ensemble_roles import role_text
from aalps.cost_models.evaluation import PlanEvaluation, PlanEvaluator
from aalps.optimizer.challengers import MARGIN, MAX_CROSSOVERS, one_task_challengers
from aalps.optimizer.exact import JointProblem, Selection
from aalps.optimizer.ray import FAR_SCALE, objective_of
from aalps.optimizer.ray_figures import PlanFigures, RayFigures, TaskFigures
from aalps.optimizer.ray_roots import bracket_root, crossing_root
from aalps.optimizer.result import Crossover
from aalps.optimizer.steady_tasks import SteadyOutcomes
from aalps.optimizer.swap_curve import SwapCurve

__all__ = ["MAX_CROSSOVERS", "ScalingPath", "approximately", "describe_plan", "find_crossovers"]

#: The grid's step along the ray (the crossing is then found to a relative
#: :data:`~aalps.optimizer.ray_roots.PRECISION` within a step).
_GRID_STEP = 4.0
#: One-task crossings of plans of this many tasks or more are refined by the swapped task
#: plan's curve (:mod:`.swap_curve`); in smaller ones a point costs less than its steps.
_CURVE_TASKS = 100
#: ... and when the grid's gaps either side of the crossing are this far from zero: a gap
#: that stays within a few thousandths can be a staircase (AHEAD_BY_K's lead steps in the
#: plan's other tasks), crossing zero more than once where the curve sees it smooth.
_STEEP = 1e-3
#: A swap that leaves the cost below this share of itself lost digits: the whole plan decides.
_CANCELLATION = 1e-2


class OutOfTime(Exception):
    """The deadline passed while a crossing was being located."""


class ScalingPath:
    """Plans' objectives at any point of the scale ray (evaluators cached per point).

    The plan being challenged is scored whole once per point; a challenger that changes
    one task of it is scored by that task's delta on its totals, and on the whole plan only
    when rounding could decide the sign (:data:`~aalps.optimizer.challengers.MARGIN` per
    task) or the swapped task was most of the cost.
    """

    def __init__(
        self, evaluator: PlanEvaluator, ratio: bool, deadline: float | None = None
    ) -> None:
        self.request = evaluator.request
        self.ratio = ratio
        self.deadline = deadline
        self.growing = [p for p in evaluator.graph.parameters if p.grows and p.expr is None]
        self._base = evaluator
        self._evaluators: dict[float, PlanEvaluator] = {1.0: evaluator}
        self._now: Plan | None = None
        self._now_outcomes: dict[float, PlanFigures] = {}
        self._steady = SteadyOutcomes(evaluator)
        self._positions: dict[str, int] | None = None

    def evaluator(self, scale: float) -> PlanEvaluator:
        """The evaluator at ``scale``; :class:`OutOfTime` past the deadline for a new one."""
        evaluator = self._evaluators.get(scale)
        if evaluator is None:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise OutOfTime
            evaluator = self._evaluators[scale] = self._base.at(scale)
        return evaluator

    def objective(self, plan: Plan, scale: float) -> float:
        """The plan's objective at ``scale`` along the ray, in log space.

        Raises :class:`OutOfTime` past the path's deadline when a new point is needed.
        """
        return objective_of(self._outcome(plan, scale), self.ratio)

    def _outcome(self, plan: Plan, scale: float) -> PlanFigures:
        """The plan's figures at ``scale``: away from the scale point, the task plans that
        do not grow are scored once for every point (:mod:`.steady_tasks`), and only the
        cost and log-success are summed (:mod:`.ray_figures`)."""
        evaluator = self.evaluator(scale)
        if scale == 1.0:
            return evaluator.outcome(plan)
        return self._steady.figures(evaluator, plan.tasks)

    def _beside(self, later: Plan, now: Plan, base: PlanFigures, scale: float) -> float:
        """``later``'s objective at ``scale``, where ``base`` holds ``now``'s figures there:
        away from the scale point, from ``now``'s figures with those of the task plans
        ``later`` changes put in (the same floats as scoring ``later`` whole)."""
        if isinstance(base, RayFigures):
            evaluator = self.evaluator(scale)
            figures = self._steady.figures_beside(evaluator, later.tasks, now.tasks, base)
            return objective_of(figures, self.ratio)
        return self.objective(later, scale)

    def _challenged(self, plan: Plan, scale: float) -> PlanFigures:
        """The challenged plan's figures at ``scale`` (computed once per point)."""
        if plan is not self._now:
            self._now, self._now_outcomes = plan, {}
        outcome = self._now_outcomes.get(scale)
        if outcome is None:
            outcome = self._now_outcomes[scale] = self._outcome(plan, scale)
        return outcome

    def _swap_gap(
        self, base: PlanFigures, out: TaskPlan, into: TaskPlan, scale: float, size: int
    ) -> float | None:
        """``into``'s plan's objective minus the base's, from the one task's delta; None
        when the running totals cannot be trusted to the sign."""
        evaluator = self.evaluator(scale)
        old: TaskFigures
        new: TaskFigures
        if isinstance(base, RayFigures):
            # The plan's figures of ``out`` at the point are in ``base`` already, and the
            # swapped-in task plan's are scored as the plan's are (the same floats as the
            # evaluator's outcome, without its other figures).
            old = base.ordered[self._position(out.task_id)]
            new = self._steady.figure(evaluator, into)
        else:
            old, new = evaluator.task_outcome(out), evaluator.task_outcome(into)
        total = base.expected_cost
        cost = total - old.expected_cost + new.expected_cost
        if not (0.0 < total < math.inf and math.isfinite(cost)) or cost < _CANCELLATION * total:
            return None
        gap = math.log(cost) - math.log(total)
        scale_of_logs = 1.0
        if self.ratio:
            moved = new.log_success - old.log_success
            if not (math.isfinite(moved) and math.isfinite(base.log_success)):
                return None
            gap -= moved
            scale_of_logs = max(1.0, abs(base.log_success))
        if abs(gap) <= MARGIN * max(1, size) * scale_of_logs:
            return None  # a close call: the whole plan decides
        return gap

    def _position(self, task_id: str) -> int:
        """The task's position in the evaluator's order (that of a :class:`RayFigures`)."""
        if self._positions is None:
            self._positions = {t: i for i, t in enumerate(self._base.facts.order)}
        return self._positions[task_id]

    def values(self, scale: float) -> dict[str, float]:
        return {p.name: p.value * scale for p in self.growing}

    def crossing(self, later: Plan, now: Plan, swap: TaskPlan | None = None) -> float | None:
        """The ``s > 1`` beyond which ``later`` stays cheaper than ``now`` up to the far point.

        ``swap``: the one task plan ``later`` puts in place of ``now``'s (scored by its
        delta), when that is how they differ.
        """
        out = None
        if swap is not None:
            out = next(tp for tp in now.tasks if tp.task_id == swap.task_id)

        def gap(scale: float) -> float:
            base = self._challenged(now, scale)
            if swap is not None and out is not None:
                delta = self._swap_gap(base, out, swap, scale, len(now.tasks))
                if delta is not None:
                    return delta
            return self._beside(later, now, base, scale) - objective_of(base, self.ratio)

        far = gap(FAR_SCALE)
        if not far < 0:
            return None
        steps = int(math.log(FAR_SCALE, _GRID_STEP))
        grid = [_GRID_STEP**i for i in range(steps + 1)] + [FAR_SCALE]
        # The grid's ends first: the far gap is known, and a challenger cheaper already at
        # the scale point is no crossover (the points between are then not scored).
        first = gap(grid[0])
        if first < 0:
            return None
        gaps = [first, *(gap(s) for s in grid[1:-1]), far]
        last = max(i for i, g in enumerate(gaps) if g >= 0)
        steep = min(gaps[last], -gaps[last + 1]) >= _STEEP
        if swap is not None and out is not None and len(now.tasks) >= _CURVE_TASKS and steep:
            curve = SwapCurve(
                self._base, self._now_outcomes, out, swap, self.ratio, grid, self._steady.figure
            )
            if curve.single_crossing(math.log(grid[last]), math.log(grid[last + 1])):
                return self._refined(gap, grid, gaps, last, curve)
        return bracket_root(gap, grid, gaps, last)

    @staticmethod
    def _refined(
        gap: Callable[[float], float],
        grid: list[float],
        gaps: list[float],
        last: int,
        curve: SwapCurve,
    ) -> float:
        """The crossing by :func:`.crossing_root`, steered by ``curve`` (every point the
        gap is scored at becomes one of its nodes)."""

        def traced(scale: float) -> float:
            value = gap(scale)
            curve.scored_at(scale)
            return value

        return crossing_root(traced, grid, gaps, last, curve.estimate)


def find_crossovers(
    evaluator: PlanEvaluator,
    plan: PlanEvaluation,
    problem: JointProblem,
    selection: Selection | None,
    asymptotic: PlanEvaluation | None,
    *,
    ratio: bool,
    deadline: float | None = None,
) -> tuple[tuple[Crossover, ...], bool]:
    """The challengers of ``plan`` (module docstring) that overtake it, earliest first, and
    whether every challenger was followed.

    Past ``deadline`` (``time.monotonic()``) no further challenger is tried, nor a
    crossing located: what was found stands, and the flag is False.
    """
    path = ScalingPath(evaluator, ratio, deadline)
    if not path.growing:
        return (), True
    found: list[Crossover] = []
    try:
        complete = _follow(evaluator, plan, problem, selection, asymptotic, path, found)
    except OutOfTime:
        complete = False
    return tuple(sorted(found, key=lambda c: c.scale)), complete


def _follow(
    evaluator: PlanEvaluator,
    plan: PlanEvaluation,
    problem: JointProblem,
    selection: Selection | None,
    asymptotic: PlanEvaluation | None,
    path: ScalingPath,
    found: list[Crossover],
) -> bool:
    """Append to ``found`` every crossover of ``plan``; False when the deadline cut it."""
    seen: set[Plan] = {plan.plan}
    if asymptotic is not None and asymptotic.plan != plan.plan:
        scale = path.crossing(asymptotic.plan, plan.plan)
        if scale is not None:
            seen.add(asymptotic.plan)
            found.append(_crossover(asymptotic, "the asymptotically optimal plan", scale, path))
    for alternative in one_task_challengers(problem, selection):
        if path.deadline is not None and time.monotonic() >= path.deadline:
            return False
        changed = _replace(plan.plan, alternative)
        if changed in seen:
            continue
        seen.add(changed)
        scale = path.crossing(changed, plan.plan, alternative)
        if scale is None:
            continue
        label = f"{_describe(alternative)} on {alternative.task_id}"
        found.append(_crossover(evaluator.evaluate(changed), label, scale, path))
    return True


def _replace(plan: Plan, task_plan: TaskPlan) -> Plan:
    return Plan(tuple(task_plan if tp.task_id == task_plan.task_id else tp for tp in plan.tasks))


def _describe(task_plan: TaskPlan) -> str:
    roles = ", ".join(f"{r.role}={role_text(r)}" for r in task_plan.roles)
    params = "".join(f", {k}={v}" for k, v in task_plan.params)
    return f"{task_plan.operator}({roles}{params})"


def _crossover(
    evaluation: PlanEvaluation, label: str, scale: float, path: ScalingPath
) -> Crossover:
    first = path.growing[0]
    values: Mapping[str, float] = path.values(scale)
    where = ", ".join(f"{name} ≈ {approximately(v)}" for name, v in values.items())
    text = f"{label} is cheaper beyond scale ×{approximately(scale)} ({where})"
    return Crossover(evaluation, first.name, first.value * scale, scale, values, text)


def describe_plan(plan: Plan) -> str:
    """A short description of a plan's task plans, e.g. ``ROUTE(delegator=d, …) on t``."""
    return "; ".join(f"{_describe(tp)} on {tp.task_id}" for tp in plan.tasks)


def approximately(x: float) -> str:
    """``x`` to three significant digits with thousands separators (``3,410``, ``0.0123``).

    Examples
    --------
    >>> approximately(3412.7), approximately(12.345), approximately(2.5e17)
    ('3,410', '12.3', '2.5e+17')
    """
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e15 or abs(x) < 1e-3:
        return f"{x:.3g}"
    digits = 2 - math.floor(math.log10(abs(x)))
    rounded = round(x, digits)
    if digits <= 0:
        return f"{int(rounded):,}"
    return f"{rounded:,.{digits}f}".rstrip("0").rstrip(".")
