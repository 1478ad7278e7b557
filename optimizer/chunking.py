"""The chunk size of CHUNK_AGGREGATE: the distinct chunk counts, and an exact 1-D search.

CHUNK_AGGREGATE at nominal chunk size ``s`` cuts ``N`` input tokens into ``c = ⌈N/s⌉``
balanced chunks of ``N/c`` tokens, so every figure of the task depends on ``s`` only
through ``c``. The sizes ``1 ≤ s ≤ N`` give about ``2·√N`` distinct counts: every integer
up to ``⌈N/⌈√N⌉⌉`` and ``⌈N/s⌉`` for the ``s < ⌈√N⌉`` above it. :class:`ChunkCounts`
indexes them in ascending order without materializing them, and
:func:`cheapest_count` searches them.

Why the search is exact
-----------------------
Let ``t(x)`` be the tokens one chunk's call writes (``aggregate_tokens`` at chunk size
``x``), ``P`` the prompt, ``i = P + x`` a chunk call's input. For every cost model a chunk
call costs ``F(x)``, a function of ``x`` alone, and the ``c`` worker calls together cost
``c·F(N/c)``: the *perspective* of ``F``, which is convex in ``c`` whenever ``F`` is convex
(Boyd & Vandenberghe, §3.2.6). ``F`` is convex when ``t`` is a polynomial with nonnegative
coefficients and ``i ≥ 1``:

* ``FORWARD_PASS``: ``F = t·i + t(t−1)/2``, ``F'' = t''·(i + t − ½) + 2t' + t'² ≥ 0``;
* ``KV_CACHED`` and ``PRICED``: ``F`` is a nonnegative combination of ``i`` and ``t``;
* ``QUADRATIC_ATTENTION``: ``F = Σ_{j<t}(i+j)²`` in closed form; expanded in ``c`` it is a
  sum of nonnegative multiples of ``c^e`` with integer ``e`` (``e ≤ 0`` or ``e ≥ 1``), each
  convex on ``c > 0`` (and checked numerically over the parameter ranges in the tests).

The aggregator reads ``P + c·t(N/c)`` (the perspective of ``t``, convex) and its call cost
is convex and nondecreasing in its input, so the composition is convex. Votes multiply a
role's cost by a constant. The total is convex in real ``c``; restricted to the ascending
achievable counts it is unimodal without plateaus above its minimum, so a ternary search
over their indices keeps the minimizer in its bracket at every step. Context windows cut
the counts to an interval: the worker's peak ``P + N/c + t(N/c)`` falls with ``c`` and
the aggregator's ``P + c·t(N/c) + output`` is convex in ``c``.

When ``aggregate_tokens`` is not such a polynomial the same grid-and-ternary search runs,
but its result is only a local optimum: :func:`cheapest_count` says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import sympy
from aalps.cost_models.domain import CHUNK
from aalps.cost_models.plain_functions import size_function

__all__ = [
    "ChunkCounts",
    "CountSearch",
    "ENUMERATION_LIMIT",
    "GRID_POINTS",
    "cheapest_count",
    "written_tokens",
]

#: Up to this many distinct counts the cost-only search enumerates every one.
ENUMERATION_LIMIT = 4000
#: Grid points (over count indices) that bracket the optimum before the ternary search.
GRID_POINTS = 64


class ChunkCounts:
    """The achievable chunk counts ``⌈N/s⌉`` (integer ``s ≥ 1``) in ascending order.

    Index ``i < K`` holds count ``i + 1`` (every count up to ``K = ⌈N/⌈√N⌉⌉`` is
    achievable); the indices above walk ``s = ⌈√N⌉ − 1, …, 1``. Neighbouring indices may
    hold the same count (runs of at most two); :meth:`distinct` skips repeats.

    Examples
    --------
    >>> counts = ChunkCounts(10)
    >>> list(counts.distinct(0, len(counts) - 1))
    [1, 2, 3, 4, 5, 10]
    >>> counts.size_for(4), counts.count_of(3)
    (3, 4)
    """

    def __init__(self, total: float) -> None:
        if not total > 0:
            raise ValueError(f"a chunked input needs a positive size, got {total!r}")
        self.total = total
        self._root = max(1, math.ceil(math.sqrt(total)))
        self._small = self.count_of(self._root)

    def __len__(self) -> int:
        return self._small + self._root - 1

    def count_of(self, size: int) -> int:
        """Chunks of nominal ``size`` tokens: ``⌈N/size⌉``, as the operator computes it."""
        return max(1, math.ceil(self.total / size))

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index < self._small:
            return index + 1
        return self.count_of(self._root - 1 - (index - self._small))

    def size_for(self, count: int, low: int = 1, high: int | None = None) -> int:
        """The smallest chunk size in ``[low, high]`` that gives ``count`` chunks."""
        size = max(low, math.ceil(self.total / count))
        while size > low and self.count_of(size - 1) <= count:
            size -= 1
        while self.count_of(size) > count:
            size += 1
        if high is not None:
            size = min(size, high)
        return size

    def index_at_least(self, count: int) -> int:
        """The first index whose count is ``>= count`` (``len(self)`` if none)."""
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self[mid] < count:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def index_at_most(self, count: int) -> int:
        """The last index whose count is ``<= count`` (``-1`` if none)."""
        return self.index_at_least(count + 1) - 1

    def distinct(self, lo: int, hi: int) -> Iterator[int]:
        """The distinct counts at indices ``lo..hi``, ascending."""
        previous = None
        for index in range(lo, hi + 1):
            count = self[index]
            if count != previous:
                yield count
            previous = count


@dataclass(frozen=True)
class CountSearch:
    """The outcome of :func:`cheapest_count`: the best count, and whether it is proven."""

    count: int
    exact: bool
    evaluations: int


def cheapest_count(
    cost: Callable[[int], float],
    counts: ChunkCounts,
    lo: int,
    hi: int,
    *,
    convex: bool,
    limit: int = ENUMERATION_LIMIT,
) -> CountSearch:
    """The count at indices ``lo..hi`` (inclusive) that minimizes ``cost``.

    Up to ``limit`` indices are enumerated; beyond, a grid of :data:`GRID_POINTS`
    brackets the minimum and an integer ternary search narrows it. The result is exact
    when enumerated or when ``convex`` (see the module docstring). Ties go to the
    smallest count. ``cost`` may be called with any count in the range, once each.
    """
    seen: dict[int, float] = {}

    def f(index: int) -> float:
        count = counts[index]
        if count not in seen:
            seen[count] = cost(count)
        return seen[count]

    if hi - lo + 1 <= limit:
        for index in range(lo, hi + 1):
            f(index)
        return CountSearch(_best(seen), True, len(seen))
    step = (hi - lo) / (GRID_POINTS - 1)
    grid = sorted({lo + round(j * step) for j in range(GRID_POINTS)})
    best = min(grid, key=lambda i: (f(i), counts[i]))
    at = grid.index(best)
    left = grid[max(0, at - 1)]
    right = grid[min(len(grid) - 1, at + 1)]
    _ternary(f, counts, left, right)
    return CountSearch(_best(seen), convex, len(seen))


def _ternary(f: Callable[[int], float], counts: ChunkCounts, lo: int, hi: int) -> None:
    """Integer ternary search of a unimodal ``f`` over indices ``lo..hi`` (fills ``f``'s memo)."""
    while hi - lo > 6:
        third = (hi - lo) // 3
        m1, m2 = lo + third, hi - third
        while m2 < hi and counts[m2] == counts[m1]:
            m2 += 1
        f1, f2 = f(m1), f(m2)
        if f1 < f2:
            hi = m2 - 1
        elif f1 > f2:
            lo = m1 + 1
        else:
            lo, hi = m1, m2
            if counts[m1] == counts[m2]:
                break
    for index in range(lo, hi + 1):
        f(index)


def _best(values: dict[int, float]) -> int:
    return min(values, key=lambda count: (values[count], count))


@lru_cache(maxsize=1024)
def written_tokens(expr: sympy.Expr) -> tuple[Callable[[float], float], bool]:
    """The tokens a chunk's call writes as a function of the chunk size, and whether it
    is a polynomial with nonnegative coefficients: per distinct expression, once (tasks of
    a request share a few; ``lambdify`` costs about a millisecond, and the common forms
    skip it: :func:`~aalps.cost_models.plain_functions.size_function`)."""
    if CHUNK in expr.free_symbols:
        fn = size_function(expr, (CHUNK,), "math")
    else:
        constant = float(expr)
        fn = lambda size: constant  # noqa: E731
    return fn, _nonnegative_polynomial(expr)


def _nonnegative_polynomial(expr: sympy.Expr) -> bool:
    """Whether ``expr`` is a polynomial in the chunk size with nonnegative coefficients."""
    if expr.free_symbols - {CHUNK}:
        return False
    try:
        poly = sympy.Poly(expr, CHUNK)
    except sympy.PolynomialError:
        return False
    return all(bool(c >= 0) for c in poly.all_coeffs())
