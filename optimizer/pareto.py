"""Pareto filters: drop what another choice beats (or equals) in every figure that matters.

Two shapes of the same rule. :func:`pareto_filter` works on a few thousand Python items
(one task's choices); :func:`nondominated` on a NumPy array of up to a few hundred
thousand joint plans. Both are deterministic: among items with equal figures the first
(in input order) is kept, so reruns return the same plans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["T", "nondominated", "pareto_filter", "thin"]

T = TypeVar("T")


def pareto_filter(items: Sequence[T], key: Callable[[T], tuple[float, ...]]) -> list[T]:
    """The items no other item weakly dominates, sorted by ``key`` (all figures minimized).

    An item is dropped when an item kept before it is ``<=`` in every figure; sorting by
    ``key`` first (ties by input order) means only earlier items can dominate.

    Examples
    --------
    >>> pareto_filter([(3, 1), (1, 3), (2, 2), (2, 3), (1, 3)], key=lambda x: x)
    [(1, 3), (2, 2), (3, 1)]
    """
    keyed = sorted(((key(item), index) for index, item in enumerate(items)))
    kept: list[int] = []
    if keyed and len(keyed[0][0]) == 1:
        return [items[keyed[0][1]]]
    if keyed and len(keyed[0][0]) == 2:
        best_second = float("inf")
        for (_, second), index in keyed:
            if second < best_second:
                kept.append(index)
                best_second = second
        return [items[i] for i in kept]
    kept_keys: list[tuple[float, ...]] = []
    for k, index in keyed:
        if any(all(a <= b for a, b in zip(other, k, strict=True)) for other in kept_keys):
            continue
        kept.append(index)
        kept_keys.append(k)
    return [items[i] for i in kept]


def nondominated(points: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Row indices of the non-dominated rows of ``points`` (minimized), lexicographic order.

    Equal rows keep only the first. Two columns take one sort and a running minimum;
    more take a sweep that compares each row with the front kept so far.

    Examples
    --------
    >>> import numpy as np
    >>> nondominated(np.array([[1.0, 3.0], [2.0, 2.0], [2.0, 3.0], [3.0, 1.0]])).tolist()
    [0, 1, 3]
    """
    n, k = points.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(tuple(points[:, j] for j in reversed(range(k))))
    ranked = points[order]
    if k == 1:
        return order[:1].astype(np.int64)
    if k == 2:
        second = ranked[:, 1]
        before = np.minimum.accumulate(np.concatenate(([np.inf], second[:-1])))
        return order[second < before].astype(np.int64)
    kept: list[int] = []
    front = np.empty((0, k))
    for row, index in zip(ranked, order, strict=True):
        if front.shape[0] and bool(np.any(np.all(front <= row, axis=1))):
            continue
        kept.append(int(index))
        front = np.vstack((front, row))
    return np.asarray(kept, dtype=np.int64)


def thin(items: list[T], limit: int) -> list[T]:
    """At most ``limit`` items of a sorted front, evenly spread, first and last kept."""
    if len(items) <= limit:
        return items
    step = (len(items) - 1) / (limit - 1)
    return [items[round(j * step)] for j in range(limit)]
