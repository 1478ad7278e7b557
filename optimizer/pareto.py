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
    keyed = sorted([(key(item), index) for index, item in enumerate(items)])
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
    if keyed and len(keyed[0][0]) in (3, 4):
        return [items[i] for i in _front_3_4(keyed)]
    kept_keys: list[tuple[float, ...]] = []
    for k, index in keyed:
        if any(all(a <= b for a, b in zip(other, k, strict=True)) for other in kept_keys):
            continue
        kept.append(index)
        kept_keys.append(k)
    return [items[i] for i in kept]


def _front_3_4(keyed: list[tuple[tuple[float, ...], int]]) -> list[int]:
    """:func:`pareto_filter`'s sweep for keys of 3 or 4 figures, the comparisons unrolled
    (the same ``<=`` tests, without a generator per pair: the enumeration's hot filter)."""
    kept: list[int] = []
    if len(keyed[0][0]) == 3:
        front3: list[tuple[float, ...]] = []
        for k, index in keyed:
            a, b, c = k
            for x, y, z in front3:
                if x <= a and y <= b and z <= c:
                    break
            else:
                kept.append(index)
                front3.append(k)
        return kept
    front4: list[tuple[float, ...]] = []
    for k, index in keyed:
        a, b, c, d = k
        for w, x, y, z in front4:
            if w <= a and x <= b and y <= c and z <= d:
                break
        else:
            kept.append(index)
            front4.append(k)
    return kept


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
