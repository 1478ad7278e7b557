"""Label sets of the coupled dynamic program: partial plans as (cost, success, latency) points.

A label is one way to plan a part of the task graph: its summed cost, its summed
log-success and its critical path, with a trace that recovers the chosen candidate of every
task in the part. Two parts combine by pairing every label of one with every label of the
other (:func:`combine`): costs and log-successes add, latencies add in series and take the
maximum in parallel. A label that another beats or equals in every figure that matters is
dropped (:func:`dominance_filter`): what completes one completes the other, no worse.

When a label set would still grow too large, :func:`thin` applies ε-dominance on cost only:
costs are compared on a geometric grid of ratio ``1 + δ``, so a label may give way to one up
to ``1 + δ`` dearer that is no worse in success or latency. Resources (success, latency)
are never rounded, so feasibility stays exact; the objective of the result is then within
the product of the ``1 + δ`` factors of the optimum.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from aalps.optimizer.pareto import nondominated

__all__ = [
    "Dims",
    "Joined",
    "Labels",
    "Leaf",
    "Trace",
    "combine",
    "dominance_filter",
    "leaf_labels",
    "selections",
    "thin",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Leaf:
    """Labels that are one task's candidates: ``choice[k]`` is label ``k``'s candidate."""

    task: int
    choice: Ints


@dataclass(frozen=True)
class Joined:
    """Labels that pair label ``left_index[k]`` of one part with ``right_index[k]`` of another."""

    left: Trace
    right: Trace
    left_index: Ints
    right_index: Ints


Trace = Leaf | Joined | None  # None: the empty part (one label, no task)


@dataclass(frozen=True)
class Dims:
    """Which figures a label is compared on besides cost (what the request couples)."""

    success: bool
    latency: bool


@dataclass(frozen=True)
class Labels:
    """A part's labels: parallel arrays of cost, log-success and latency, and their trace."""

    cost: Floats
    logs: Floats
    latency: Floats
    trace: Trace

    def __len__(self) -> int:
        return int(self.cost.shape[0])

    def subset(self, keep: Ints | npt.NDArray[np.bool_]) -> Labels:
        """The labels at ``keep`` (indices or a mask), their trace narrowed alike."""
        trace = self.trace
        if isinstance(trace, Leaf):
            trace = Leaf(trace.task, trace.choice[keep])
        elif isinstance(trace, Joined):
            trace = Joined(trace.left, trace.right, trace.left_index[keep], trace.right_index[keep])
        return Labels(self.cost[keep], self.logs[keep], self.latency[keep], trace)


def empty_part() -> Labels:
    """The one label of a part without tasks."""
    return Labels(np.zeros(1), np.zeros(1), np.zeros(1), None)


def leaf_labels(
    task: int, cost: Sequence[float], logs: Sequence[float], latency: Sequence[float]
) -> Labels:
    """One task's candidates as labels (all of them; filtering is the caller's)."""
    return Labels(
        np.asarray(cost, dtype=np.float64),
        np.asarray(logs, dtype=np.float64),
        np.asarray(latency, dtype=np.float64),
        Leaf(task, np.arange(len(cost), dtype=np.int64)),
    )


def combine(left: Labels, right: Labels, *, parallel: bool) -> Labels:
    """Every pairing of a label of ``left`` with one of ``right`` (unfiltered)."""
    if left.trace is None:
        return right
    if right.trace is None:
        return left
    li = np.repeat(np.arange(len(left), dtype=np.int64), len(right))
    ri = np.tile(np.arange(len(right), dtype=np.int64), len(left))
    join = np.maximum if parallel else np.add
    return Labels(
        left.cost[li] + right.cost[ri],
        left.logs[li] + right.logs[ri],
        join(left.latency[li], right.latency[ri]),
        Joined(left.trace, right.trace, li, ri),
    )


def dominance_filter(labels: Labels, dims: Dims, cost: Floats | None = None) -> Labels:
    """The labels no other label beats or equals in every compared figure.

    Compared: cost (or the rounded ``cost`` given, for ε-dominance), −log-success when
    ``dims.success``, latency when ``dims.latency``. Among equal labels the first is kept.
    """
    if len(labels) <= 1:
        return labels
    columns = [labels.cost if cost is None else cost]
    if dims.success:
        columns.append(-labels.logs)
    if dims.latency:
        columns.append(labels.latency)
    points = np.stack(columns, axis=1)
    if points.shape[1] <= 2:
        kept = nondominated(points)
    else:
        kept = _nondominated_3d(points)
    return labels.subset(np.sort(kept))


def _nondominated_3d(points: Floats) -> Ints:
    """Row indices of the non-dominated rows of a three-column array (minimized).

    Rows sorted lexicographically, so only an earlier row can dominate a later one; the
    earlier rows kept are summarized by a staircase over the last two columns (second
    column ascending, third strictly descending): a row is dominated when the staircase
    entry at or before its second figure has a third figure no larger.
    """
    order = np.lexsort((points[:, 2], points[:, 1], points[:, 0]))
    second = points[order, 1].tolist()
    third = points[order, 2].tolist()
    stair_x: list[float] = []
    stair_y: list[float] = []
    kept: list[int] = []
    for position, (x, y) in enumerate(zip(second, third, strict=True)):
        at = bisect_right(stair_x, x)
        if at and stair_y[at - 1] <= y:
            continue
        kept.append(position)
        # Drop the entries the new one covers (second >= x and third >= y).
        end = at
        while end < len(stair_x) and stair_y[end] >= y:
            end += 1
        if at and stair_x[at - 1] == x:
            at -= 1
        stair_x[at:end] = [x]
        stair_y[at:end] = [y]
    return order[np.asarray(kept, dtype=np.int64)].astype(np.int64)


def thin(labels: Labels, dims: Dims, limit: int) -> tuple[Labels, float]:
    """At most ``limit`` labels by ε-dominance on cost, and the factor ``1 + δ`` it cost.

    Tries grids of ratio ``1 + δ`` for δ = 1e-6, 1e-5, … up to 1: the finest grid that
    brings the set within ``limit`` is used. Returns the labels unchanged with factor 1.0
    when they already fit, and the coarsest attempt when none fits (the caller decides).
    """
    if len(labels) <= limit:
        return labels, 1.0
    positive = np.maximum(labels.cost, np.finfo(np.float64).tiny)
    logs = np.log(positive)
    thinned, factor = labels, 1.0
    for exponent in range(6, -1, -1):
        delta = 10.0**-exponent
        cell = np.floor(logs / math.log1p(delta))
        thinned = dominance_filter(labels, dims, cost=cell)
        factor = 1.0 + delta
        if len(thinned) <= limit:
            break
    return thinned, factor


def selections(labels: Labels, rows: Sequence[int], n_tasks: int) -> list[tuple[int, ...]]:
    """The candidate index of every task, for each label in ``rows`` (-1: not in the part)."""
    out = []
    for row in rows:
        picks = [-1] * n_tasks
        stack: list[tuple[Trace, int]] = [(labels.trace, int(row))]
        while stack:
            trace, k = stack.pop()
            if isinstance(trace, Leaf):
                picks[trace.task] = int(trace.choice[k])
            elif isinstance(trace, Joined):
                stack.append((trace.left, int(trace.left_index[k])))
                stack.append((trace.right, int(trace.right_index[k])))
        out.append(tuple(picks))
    return out
