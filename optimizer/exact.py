"""The joint problem over the tasks' filtered choices, and its exact enumeration.

A joint plan picks one :class:`~optimizer.space.Candidate` per task. Its expected cost is
the sum of the tasks' costs, its success probability their product and its latency the
critical path of the DAG: the evaluator's
:meth:`~cost_models.evaluation.PlanEvaluator.combine` arithmetic, reproduced here in the
same order (graph order, left folds) so that feasibility and costs agree with it to the
last bit. :func:`enumerate_joint` scores every joint plan at once with NumPy when their
number is at most :data:`ENUMERATION_LIMIT`; larger products go to
:mod:`optimizer.branch_and_bound`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cost_models.domain import Constraints, Plan
from cost_models.evaluation import PlanEvaluator
from optimizer.space import Candidate, TaskSpace

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
    ) -> None:
        self.cost = [list(c) for c in cost]
        self.success = [list(s) for s in success]
        self.latency = [list(x) for x in latency]
        self.logs = [[math.log(max(p, TINY)) for p in ps] for ps in self.success]
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
        cls, evaluator: PlanEvaluator, spaces: Sequence[TaskSpace], constraints: Constraints
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

        return cls(
            [[cost(c) for c in cs] for cs in choices],
            [[c.outcome.success_probability for c in cs] for cs in choices],
            [[c.outcome.latency for c in cs] for cs in choices],
            preds,
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
        cost = sum(self.cost[i][j] for i, j in enumerate(selection))
        success = math.prod(self.success[i][j] for i, j in enumerate(selection))
        finish = [0.0] * len(selection)
        for i in self.order:
            before = max((finish[p] for p in self.preds[i]), default=0.0)
            finish[i] = before + self.latency[i][selection[i]]
        return JointFigures(cost, success, max(finish, default=0.0))

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


@dataclass(frozen=True)
class JointArrays:
    """Every joint plan's figures (enumeration order: the first task varies slowest)."""

    cost: npt.NDArray[np.float64]
    success: npt.NDArray[np.float64]
    latency: npt.NDArray[np.float64]
    feasible: npt.NDArray[np.bool_]

    def selection(self, problem: JointProblem, flat: int) -> Selection:
        sizes = [len(c) for c in problem.cost]
        picks = []
        for n in reversed(sizes):
            picks.append(flat % n)
            flat //= n
        return tuple(reversed(picks))


def enumerate_joint(problem: JointProblem) -> JointArrays:
    """Score every joint plan at once (``problem.size`` must be moderate)."""
    sizes = [len(c) for c in problem.cost]
    flat = np.arange(problem.size, dtype=np.int64)
    picks: list[npt.NDArray[np.int64] | int] = [0] * len(sizes)
    stride = 1
    for i in reversed(range(len(sizes))):
        if sizes[i] > 1:
            picks[i] = (flat // stride) % sizes[i]
            stride *= sizes[i]

    def column(
        values: Sequence[float], pick: npt.NDArray[np.int64] | int
    ) -> npt.NDArray[np.float64]:
        array = np.asarray(values, dtype=np.float64)
        return np.broadcast_to(array[pick], flat.shape)

    cost = np.zeros(flat.shape)
    success = np.ones(flat.shape)
    for i, pick in enumerate(picks):
        cost = cost + column(problem.cost[i], pick)
        success = success * column(problem.success[i], pick)
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
    return JointArrays(cost, success, latency, feasible)


def cheapest_enumerated(problem: JointProblem) -> Selection | None:
    """The cheapest feasible joint plan by enumeration (the first of equals), or None."""
    arrays = enumerate_joint(problem)
    if not arrays.feasible.any():
        return None
    masked = np.where(arrays.feasible, arrays.cost, np.inf)
    return arrays.selection(problem, int(np.argmin(masked)))
