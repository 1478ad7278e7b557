"""The coupled search: a Pareto dynamic program over (objective, resource) labels.

Constraints that couple tasks combine along the graph: success is a product (log-success
adds), cost adds, latency adds along a path and takes the maximum over parallel branches.
Over the DAG's series-parallel decomposition (:mod:`aalps.optimizer.series_parallel`; any
order of the tasks when latency is not constrained) every part keeps its Pareto set of
labels (:mod:`aalps.optimizer.labels`): cost, and log-success and latency where the
request's objective or constraints make them matter. A label is dropped when

* another label of the part is no worse in every compared figure (dominance),
* even the best completion breaks a constraint: the part's cost plus the cheapest choices
  outside it over ``max_cost``; its log-success plus the most reliable choices outside it
  under the target; its critical path plus the shortest paths into and out of the part over
  ``max_latency``,
* its lower bound on the objective exceeds a known feasible plan's (the incumbent): the
  cheapest completion's cost, or with a success target the Lagrangian bound
  ``c + Σ_outside min(c − λ·log s) + λ·(log target − log s)``; for the cost of a correct
  result ``log(c + cheapest rest) − (log s + most reliable rest)``.

Every prune keeps a relative slack of 1e-9, and the plan picked at the end is re-scored by
the problem's own arithmetic (:meth:`~aalps.optimizer.exact.JointProblem.figures`), so the
result is the exact optimum. Only when a part's labels exceed the label budget are they
thinned by ε-dominance on cost (:func:`~aalps.optimizer.labels.thin`); the result then
carries its proven relative gap, the product of the thinning factors minus one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from aalps.optimizer.exact import JointProblem, Selection
from aalps.optimizer.incumbents import lagrangian_multiplier
from aalps.optimizer.labels import (
    Dims,
    Joined,
    Labels,
    dominance_filter,
    leaf_labels,
    selections,
    thin,
)
from aalps.optimizer.series_parallel import Part, chain, series_parallel, vertex_paths

__all__ = [
    "CoupledResult",
    "LABEL_BUDGET",
    "MAX_LABELS",
    "MAX_PAIRS",
    "MIN_LABELS",
    "SLACK",
    "coupled_dp",
]

#: A part with more labels than this is thinned (ε-dominance) or, exact-only, given up.
MAX_LABELS = 50_000
#: A part may always keep this many labels, however many tasks share the budget.
MIN_LABELS = 1_000
#: Labels kept over all parts at most (the traces that recover plans), spread over tasks.
LABEL_BUDGET = 4_000_000
#: Label pairings scored at once when two parts combine.
MAX_PAIRS = 2_000_000
#: Relative slack of every prune, so that rounding never drops the optimum.
SLACK = 1e-9


@dataclass(frozen=True)
class CoupledResult:
    """What the dynamic program settled on.

    ``complete`` is True when it ran to the end: ``selection`` is then the best feasible
    plan within the relative ``gap`` (0.0: the exact optimum; None: no plan is feasible).
    ``peak_labels`` is the largest label set it kept for one part.
    """

    selection: Selection | None
    complete: bool
    gap: float
    peak_labels: int


@dataclass(frozen=True)
class _Scope:
    """The tasks a label set covers, summarized for the completion bounds."""

    min_cost: float
    max_logs: float
    reduced: float
    source: int
    sink: int


class _Interrupted(Exception):
    """The deadline passed, the caller asked to stop, or an exact-only run overflowed."""


def coupled_dp(
    problem: JointProblem,
    *,
    incumbent: Selection | None = None,
    deadline: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    thinning: bool = True,
) -> CoupledResult | None:
    """The best feasible plan of ``problem`` by the Pareto dynamic program (module docstring).

    Parameters
    ----------
    problem
        The joint problem, its constraints set.
    incumbent
        A feasible plan: labels whose bound exceeds its objective are dropped.
    deadline, should_stop
        A ``time.monotonic()`` deadline and a stop poll; either ends the run incomplete.
    thinning
        Whether label sets over the budget are thinned (approximate, with a gap) or the
        run ends incomplete (exact only).

    Returns
    -------
    CoupledResult or None
        None when latency is constrained and the DAG is not series-parallel.
    """
    n = len(problem.cost)
    if n == 0:
        return None
    if problem.max_latency is not None:
        root = series_parallel(problem.preds)
        if root is None:
            return None
    else:
        root = chain(n)
    run = _Run(problem, incumbent, deadline, should_stop, thinning)
    try:
        labels = run.part(root)
    except _Interrupted:
        return CoupledResult(incumbent, False, math.inf, run.peak)
    gap = math.prod(run.factors) - 1.0
    return CoupledResult(run.pick(labels), True, gap, run.peak)


class _Run:
    """One run of the dynamic program: the bounds, the budget and the recursion."""

    def __init__(
        self,
        problem: JointProblem,
        incumbent: Selection | None,
        deadline: float | None,
        should_stop: Callable[[], bool] | None,
        thinning: bool,
    ) -> None:
        self.problem = problem
        self.deadline = deadline
        self.should_stop = should_stop
        self.thinning = thinning
        n = len(problem.cost)
        self.dims = Dims(
            success=problem.ratio or problem.target is not None,
            latency=problem.max_latency is not None,
        )
        self.limit = min(MAX_LABELS, max(MIN_LABELS, LABEL_BUDGET // n))
        self.min_cost = [min(c) for c in problem.cost]
        self.max_logs = [max(g) for g in problem.logs]
        self.lam = lagrangian_multiplier(problem) if problem.target is not None else 0.0
        self.reduced = [
            min(c - self.lam * g for c, g in zip(cs, gs, strict=True))
            for cs, gs in zip(problem.cost, problem.logs, strict=True)
        ]
        self.total = _Scope(
            math.fsum(self.min_cost), math.fsum(self.max_logs), math.fsum(self.reduced), 0, 1
        )
        self.log_target = math.log(problem.target) if problem.target else -math.inf
        self.head, self.tail = (
            vertex_paths(problem.preds, [min(x) for x in problem.latency])
            if self.dims.latency
            else ({}, {})
        )
        self.incumbent = incumbent
        self.bound = math.inf
        if incumbent is not None and problem.feasible(problem.figures(incumbent)):
            self.bound = problem.value(problem.figures(incumbent))
        else:
            self.incumbent = None
        self.factors: list[float] = []
        self.peak = 0

    def _check(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _Interrupted
        if self.should_stop is not None and self.should_stop():
            raise _Interrupted

    # --- the recursion over parts ---------------------------------------------------------

    def scope(self, tasks: Sequence[int], source: int, sink: int) -> _Scope:
        return _Scope(
            math.fsum(self.min_cost[i] for i in tasks),
            math.fsum(self.max_logs[i] for i in tasks),
            math.fsum(self.reduced[i] for i in tasks),
            source,
            sink,
        )

    def part(self, part: Part) -> Labels:
        """The filtered labels of one part (raises :class:`_Interrupted`)."""
        self._check()
        problem = self.problem
        if part.kind == "task":
            i = part.task
            labels = leaf_labels(i, problem.cost[i], problem.logs[i], problem.latency[i])
            return self.keep(labels, self.scope((i,), part.source, part.sink))
        pieces = [self.part(p) for p in part.parts]
        if part.kind == "parallel":
            order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
            pieces = [pieces[k] for k in order]
            parts = [part.parts[k] for k in order]
        else:
            parts = list(part.parts)
        labels, tasks = pieces[0], list(parts[0].tasks)
        for piece, sub in zip(pieces[1:], parts[1:], strict=True):
            tasks.extend(sub.tasks)
            sink = sub.sink if part.kind == "series" else part.sink
            scope = self.scope(tasks, part.source, sink)
            labels = self.merge(labels, piece, part.kind == "parallel", scope)
        return labels

    def merge(self, a: Labels, b: Labels, parallel: bool, scope: _Scope) -> Labels:
        """Every pairing of ``a``'s labels with ``b``'s, filtered, in slices of pairs."""
        if a.trace is None or b.trace is None or not len(a) or not len(b):
            return a if b.trace is None else b
        step = max(1, MAX_PAIRS // len(b))
        kept: list[Labels] = []
        for start in range(0, len(a), step):
            self._check()
            stop = min(start + step, len(a))
            li = np.repeat(np.arange(start, stop, dtype=np.int64), len(b))
            ri = np.tile(np.arange(len(b), dtype=np.int64), stop - start)
            join = np.maximum if parallel else np.add
            pairs = Labels(
                a.cost[li] + b.cost[ri],
                a.logs[li] + b.logs[ri],
                join(a.latency[li], b.latency[ri]),
                Joined(a.trace, b.trace, li, ri),
            )
            kept.append(self.keep(pairs, scope, cap=False))
        if len(kept) == 1:
            return self.cap(kept[0])
        li = np.concatenate([k.trace.left_index for k in kept if isinstance(k.trace, Joined)])
        ri = np.concatenate([k.trace.right_index for k in kept if isinstance(k.trace, Joined)])
        merged = Labels(
            np.concatenate([k.cost for k in kept]),
            np.concatenate([k.logs for k in kept]),
            np.concatenate([k.latency for k in kept]),
            Joined(a.trace, b.trace, li, ri),
        )
        return self.cap(dominance_filter(merged, self.dims))

    def keep(self, labels: Labels, scope: _Scope, *, cap: bool = True) -> Labels:
        """The labels that some completion could still make feasible and better, undominated."""
        problem, total = self.problem, self.total
        keep = np.ones(len(labels), dtype=bool)
        rest_cost = max(total.min_cost - scope.min_cost, 0.0)
        rest_logs = min(total.max_logs - scope.max_logs, 0.0)
        if problem.max_cost is not None:
            keep &= labels.cost + rest_cost <= problem.max_cost * (1 + SLACK)
        if problem.target is not None:
            keep &= labels.logs + rest_logs >= self.log_target - SLACK
        if problem.max_latency is not None:
            around = self.head[scope.source] + self.tail[scope.sink]
            keep &= labels.latency + around <= problem.max_latency * (1 + SLACK)
        if math.isfinite(self.bound):
            keep &= self._within_bound(labels, scope, rest_cost, rest_logs)
        filtered = dominance_filter(labels.subset(np.nonzero(keep)[0]), self.dims)
        return self.cap(filtered) if cap else filtered

    def _within_bound(
        self, labels: Labels, scope: _Scope, rest_cost: float, rest_logs: float
    ) -> np.ndarray:
        """Whether each label's lower bound on the objective reaches the incumbent's."""
        if self.problem.ratio:
            with np.errstate(divide="ignore"):
                least = np.log(labels.cost + rest_cost) - (labels.logs + rest_logs)
            return np.asarray(least <= self.bound + SLACK * max(1.0, abs(self.bound)))
        least = labels.cost + rest_cost
        if self.problem.target is not None:
            rest_reduced = self.total.reduced - scope.reduced
            lagrange = labels.cost + rest_reduced + self.lam * (self.log_target - labels.logs)
            least = np.maximum(least, lagrange)
        return np.asarray(least <= self.bound + SLACK * abs(self.bound))

    def cap(self, labels: Labels) -> Labels:
        """The labels within the budget: thinned by ε-dominance, or the run given up."""
        self.peak = max(self.peak, len(labels))
        if len(labels) <= self.limit:
            return labels
        if not self.thinning:
            raise _Interrupted
        thinned, factor = thin(labels, self.dims, self.limit)
        if len(thinned) > self.limit:
            raise _Interrupted
        self.factors.append(factor)
        return thinned

    # --- the answer -----------------------------------------------------------------------

    def pick(self, labels: Labels) -> Selection | None:
        """The best root label whose plan the problem's own arithmetic finds feasible.

        Falls back on the incumbent when every label was bounded away by it.
        """
        problem = self.problem
        n = len(problem.cost)
        if problem.ratio:
            with np.errstate(divide="ignore"):
                values = np.log(labels.cost) - labels.logs
        else:
            values = labels.cost
        best: tuple[float, Selection] | None = None
        if self.incumbent is not None:
            best = (self.bound, self.incumbent)
        for selection in selections(labels, np.argsort(values, kind="stable")[:64].tolist(), n):
            figures = problem.figures(selection)
            if problem.feasible(figures):
                value = problem.value(figures)
                if best is None or value < best[0]:
                    best = (value, selection)
                break
        return None if best is None else best[1]
