"""The joint problem over the tasks' filtered choices, and its exact enumeration.

A joint plan picks one :class:`~aalps.optimizer.space.Candidate` per task. Its expected cost is
the sum of the tasks' costs, its success probability their product and its latency the
critical path of the DAG: the evaluator's
:meth:`~aalps.cost_models.evaluation.PlanEvaluator.combine` arithmetic, reproduced here in the
same order (graph order, left folds) so that feasibility and costs agree with it to the
last bit. :func:`enumerate_joint` scores every joint plan at once with NumPy when their
number is at most :data:`ENUMERATION_LIMIT`; larger products go to
:mod:`aalps.optimizer.branch_and_bound`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from aalps.cost_models.domain import Constraints, Plan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.ray import TIE_TOLERANCE
from aalps.optimizer.space import Candidate, TaskSpace

__all__ = [
    "Arrays",
    "ENUMERATION_LIMIT",
    "JointArrays",
    "JointFigures",
    "JointProblem",
    "Selection",
    "TINY",
    "cheapest_enumerated",
    "enumerate_joint",
    "far_objective_array",
    "far_problem",
    "objective_array",
]

#: Joint products up to this size are enumerated outright.
ENUMERATION_LIMIT = 200_000
#: Costs above e^700 would overflow a float: they are scaled down by a common factor.
_LOG_HEADROOM = 600.0
#: Success probabilities are floored here before taking logs.
TINY = 1e-300

Selection = tuple[int, ...]  # per task (graph order), the index of its chosen candidate
Arrays = list[npt.NDArray[np.float64]]


@dataclass(frozen=True)
class JointFigures:
    """A joint plan's figures, computed as the evaluator's ``combine`` does."""

    cost: float
    success: float
    latency: float
    log_success: float = 0.0


class JointProblem:
    """Per task, its choices' figures (cost, success, latency), the DAG and the constraints.

    Build it from the tasks' spaces with :meth:`of`; tests build it from plain lists.
    ``cost`` may be scaled by ``exp(−shift)`` (then so is ``max_cost``) so that plans
    whose cost exceeds a float stay comparable.
    """

    def __init__(
        self,
        cost: Sequence[Sequence[float]],
        success: Sequence[Sequence[float]],
        latency: Sequence[Sequence[float]],
        preds: Sequence[Sequence[int]],
        *,
        target: float | None = None,
        max_cost: float | None = None,
        max_latency: float | None = None,
        shift: float = 0.0,
        spaces: Sequence[TaskSpace] = (),
        ratio: bool = False,
        logs: Sequence[Sequence[float]] | None = None,
        far_cost: Sequence[Sequence[float]] | None = None,
        far_logs: Sequence[Sequence[float]] | None = None,
    ) -> None:
        self.cost = [list(c) for c in cost]
        self.success = [list(s) for s in success]
        self.latency = [list(x) for x in latency]
        if logs is None:
            self.logs = [[math.log(p) if p > 0 else -math.inf for p in ps] for ps in self.success]
        else:
            self.logs = [list(g) for g in logs]
        self.ratio = ratio
        # Far along the scale ray: log costs and log successes (None: no ray).
        self.far_cost = None if far_cost is None else [list(c) for c in far_cost]
        self.far_logs = None if far_logs is None else [list(g) for g in far_logs]
        self.preds = [list(p) for p in preds]
        self.succs: list[list[int]] = [[] for _ in self.preds]
        for j, ps in enumerate(self.preds):
            for i in ps:
                self.succs[i].append(j)
        self.target = target
        self.max_cost = max_cost
        self.max_latency = max_latency
        self.shift = shift
        self.spaces = list(spaces)
        self.choices: list[tuple[Candidate, ...]] = [s.candidates for s in self.spaces]
        self.order = self._topological()

    @classmethod
    def of(
        cls,
        evaluator: PlanEvaluator,
        spaces: Sequence[TaskSpace],
        constraints: Constraints,
        *,
        ratio: bool = False,
    ) -> JointProblem:
        """The joint problem over the spaces' filtered candidates (graph order)."""
        choices = [s.candidates for s in spaces]
        position = {s.task.id: i for i, s in enumerate(spaces)}
        dag = evaluator.graph.dag
        preds = [[position[p] for p in dag.predecessors(s.task.id)] for s in spaces]
        top = max((c.outcome.log_cost for cs in choices for c in cs), default=0.0)
        shift = max(0.0, top - _LOG_HEADROOM) if math.isfinite(top) else 0.0

        def cost(candidate: Candidate) -> float:
            if shift == 0.0:
                return candidate.outcome.expected_cost
            return math.exp(candidate.outcome.log_cost - shift)

        far = all(c.far is not None for cs in choices for c in cs) and bool(choices)
        return cls(
            [[cost(c) for c in cs] for cs in choices],
            [[c.outcome.success_probability for c in cs] for cs in choices],
            [[c.outcome.latency for c in cs] for cs in choices],
            preds,
            ratio=ratio,
            logs=[[c.outcome.log_success for c in cs] for cs in choices],
            far_cost=[[c.far.log_cost for c in cs if c.far] for cs in choices] if far else None,
            far_logs=[[c.far.log_success for c in cs if c.far] for cs in choices] if far else None,
            target=constraints.min_success_probability,
            max_cost=None
            if constraints.max_cost is None
            else constraints.max_cost * math.exp(-shift),
            max_latency=constraints.max_latency,
            shift=shift,
            spaces=spaces,
        )

    def arrays(self) -> tuple[Arrays, Arrays]:
        """Per task, its choices' costs and log-success probabilities as arrays."""
        return (
            [np.asarray(c, dtype=np.float64) for c in self.cost],
            [np.asarray(g, dtype=np.float64) for g in self.logs],
        )

    def _topological(self) -> list[int]:
        indegree = [len(p) for p in self.preds]
        ready = [i for i, d in enumerate(indegree) if d == 0]
        order: list[int] = []
        while ready:
            i = ready.pop(0)
            order.append(i)
            for j in self.succs[i]:
                indegree[j] -= 1
                if indegree[j] == 0:
                    ready.append(j)
        return order

    @property
    def size(self) -> int:
        """The number of joint plans."""
        return math.prod(len(c) for c in self.cost)

    def plan(self, selection: Selection) -> Plan:
        return Plan(tuple(cs[j].plan for cs, j in zip(self.choices, selection, strict=True)))

    def figures(self, selection: Selection) -> JointFigures:
        """The joint plan's figures: the same sums, products and critical path, in the same
        order, as per task look-ups would give (lists gathered first: it is called per
        challenger, incumbent and trial, on up to thousands of tasks)."""
        cost = sum([c[j] for c, j in zip(self.cost, selection, strict=True)])
        success = math.prod([s[j] for s, j in zip(self.success, selection, strict=True)])
        log_success = sum([g[j] for g, j in zip(self.logs, selection, strict=True)])
        latency = [x[j] for x, j in zip(self.latency, selection, strict=True)]
        finish = [0.0] * len(selection)
        preds = self.preds
        for i in self.order:
            before = preds[i]
            if not before:
                finish[i] = 0.0 + latency[i]
            elif len(before) == 1:
                finish[i] = finish[before[0]] + latency[i]
            else:
                finish[i] = max([finish[p] for p in before]) + latency[i]
        return JointFigures(cost, success, max(finish, default=0.0), log_success)

    def value(self, figures: JointFigures) -> float:
        """The objective of a joint plan: its cost, or log(cost / success) for the ratio."""
        if not self.ratio:
            return figures.cost
        if figures.cost <= 0.0:
            return -math.inf if figures.log_success > -math.inf else math.inf
        return math.log(figures.cost) - figures.log_success

    def far_value(self, selection: Selection) -> float:
        """The objective far along the scale ray, in log space (0 when there is no ray)."""
        if self.far_cost is None or self.far_logs is None:
            return 0.0
        log_cost = _log_sum([c[j] for c, j in zip(self.far_cost, selection, strict=True)])
        if not self.ratio:
            return log_cost
        return log_cost - math.fsum([g[j] for g, j in zip(self.far_logs, selection, strict=True)])

    def feasible(self, figures: JointFigures) -> bool:
        return (
            (self.target is None or figures.success >= self.target)
            and (self.max_cost is None or figures.cost <= self.max_cost)
            and (self.max_latency is None or figures.latency <= self.max_latency)
        )

    def unscaled(self, cost: float) -> float:
        return cost * math.exp(self.shift) if self.shift else cost

    # --- what the constraints allow at best ---------------------------------------------

    def best_success(self) -> float:
        return math.prod(max(s) for s in self.success)

    def cheapest_cost(self) -> float:
        return sum(min(c) for c in self.cost)

    def fastest_latency(self) -> float:
        finish = [0.0] * len(self.cost)
        for i in self.order:
            before = max((finish[p] for p in self.preds[i]), default=0.0)
            finish[i] = before + min(self.latency[i])
        return max(finish, default=0.0)

    def tail_latency(self) -> list[float]:
        """Per task, the shortest possible time from its end to the end of the plan."""
        tail = [0.0] * len(self.cost)
        for i in reversed(self.order):
            tail[i] = max((min(self.latency[j]) + tail[j] for j in self.succs[i]), default=0.0)
        return tail


def far_problem(problem: JointProblem) -> JointProblem:
    """The problem with the far point's figures as its costs and successes (no constraints).

    Costs are scaled by a common factor so that they fit floats; the objective's order is
    unchanged by it.
    """
    assert problem.far_cost is not None and problem.far_logs is not None
    top = max((max(c) for c in problem.far_cost if c), default=0.0)
    shift = top - _LOG_HEADROOM if math.isfinite(top) else 0.0
    cost = [[math.exp(c - shift) for c in cs] for cs in problem.far_cost]
    return JointProblem(
        cost,
        [[1.0 for _ in cs] for cs in cost],
        [[0.0 for _ in cs] for cs in cost],
        problem.preds,
        shift=shift,
        spaces=problem.spaces,
        ratio=problem.ratio,
        logs=problem.far_logs,
    )


@dataclass(frozen=True)
class JointArrays:
    """Every joint plan's figures (enumeration order: the first task varies slowest)."""

    cost: npt.NDArray[np.float64]
    success: npt.NDArray[np.float64]
    latency: npt.NDArray[np.float64]
    feasible: npt.NDArray[np.bool_]
    log_success: npt.NDArray[np.float64]

    def selection(self, problem: JointProblem, flat: int) -> Selection:
        sizes = [len(c) for c in problem.cost]
        picks = []
        for n in reversed(sizes):
            picks.append(flat % n)
            flat //= n
        return tuple(reversed(picks))


def enumerate_joint(problem: JointProblem) -> JointArrays:
    """Score every joint plan at once (``problem.size`` must be moderate)."""
    flat = np.arange(problem.size, dtype=np.int64)
    picks = _picks(problem)

    def column(
        values: Sequence[float], pick: npt.NDArray[np.int64] | int
    ) -> npt.NDArray[np.float64]:
        array = np.asarray(values, dtype=np.float64)
        return np.broadcast_to(array[pick], flat.shape)

    cost = np.zeros(flat.shape)
    success = np.ones(flat.shape)
    log_success = np.zeros(flat.shape)
    for i, pick in enumerate(picks):
        cost = cost + column(problem.cost[i], pick)
        success = success * column(problem.success[i], pick)
        log_success = log_success + column(problem.logs[i], pick)
    finish: dict[int, npt.NDArray[np.float64]] = {}
    latency = np.zeros(flat.shape)
    for i in problem.order:
        before = np.zeros(flat.shape)
        for p in problem.preds[i]:
            before = np.maximum(before, finish[p])
        finish[i] = before + column(problem.latency[i], picks[i])
        latency = np.maximum(latency, finish[i])
    feasible = np.ones(flat.shape, dtype=bool)
    if problem.target is not None:
        feasible &= success >= problem.target
    if problem.max_cost is not None:
        feasible &= cost <= problem.max_cost
    if problem.max_latency is not None:
        feasible &= latency <= problem.max_latency
    return JointArrays(cost, success, latency, feasible, log_success)


def cheapest_enumerated(problem: JointProblem, *, asymptotic: bool = False) -> Selection | None:
    """The best feasible joint plan by enumeration, or None.

    Best by the problem's objective at the scale point, ties (within
    :data:`~aalps.optimizer.ray.TIE_TOLERANCE`) going to the asymptotically smaller plan and then
    to the first; with ``asymptotic`` the other way round: best far along the ray, ties
    broken at the scale point.
    """
    arrays = enumerate_joint(problem)
    if not arrays.feasible.any():
        return None
    here = np.where(arrays.feasible, objective_array(problem, arrays), np.inf)
    far = far_objective_array(problem)
    if far is None:
        return arrays.selection(problem, int(np.argmin(here)))
    far = np.where(arrays.feasible, far, np.inf)
    first, second = (far, here) if asymptotic else (here, far)
    best = float(np.min(first))
    near = first <= best + _tolerance(best, problem.ratio or asymptotic)
    return arrays.selection(problem, int(np.argmin(np.where(near, second, np.inf))))


def _tolerance(value: float, log_space: bool) -> float:
    """How far from ``value`` a tie reaches: relative for costs, absolute for logs."""
    if not math.isfinite(value):
        return 0.0
    return TIE_TOLERANCE if log_space else TIE_TOLERANCE * abs(value)


def objective_array(problem: JointProblem, arrays: JointArrays) -> npt.NDArray[np.float64]:
    """Every enumerated joint plan's objective at the scale point."""
    if not problem.ratio:
        return arrays.cost
    with np.errstate(divide="ignore"):
        return np.log(arrays.cost) - arrays.log_success


def far_objective_array(problem: JointProblem) -> npt.NDArray[np.float64] | None:
    """Every enumerated joint plan's objective far along the ray (log space), or None."""
    if problem.far_cost is None or problem.far_logs is None:
        return None
    flat_picks = _picks(problem)
    top = max((max(c) for c in problem.far_cost if c), default=0.0)
    shift = top if math.isfinite(top) else 0.0
    total = np.zeros(problem.size)
    logs = np.zeros(problem.size)
    for i, pick in enumerate(flat_picks):
        costs = np.exp(np.asarray(problem.far_cost[i], dtype=np.float64) - shift)
        total = total + np.broadcast_to(costs[pick], total.shape)
        if problem.ratio:
            far_logs = np.asarray(problem.far_logs[i], dtype=np.float64)
            logs = logs + np.broadcast_to(far_logs[pick], logs.shape)
    with np.errstate(divide="ignore"):
        value = np.log(total) + shift
    return value - logs if problem.ratio else value


def _picks(problem: JointProblem) -> list[npt.NDArray[np.int64] | int]:
    """Per task, the index of its choice in every enumerated joint plan."""
    sizes = [len(c) for c in problem.cost]
    flat = np.arange(problem.size, dtype=np.int64)
    picks: list[npt.NDArray[np.int64] | int] = [0] * len(sizes)
    stride = 1
    for i in reversed(range(len(sizes))):
        if sizes[i] > 1:
            picks[i] = (flat // stride) % sizes[i]
            stride *= sizes[i]
    return picks


def _log_sum(logs: Sequence[float]) -> float:
    top = max(logs, default=-math.inf)
    if not math.isfinite(top):
        return top
    return top + math.log(math.fsum(math.exp(v - top) for v in logs))
