"""Where a gap along the scale ray turns negative for good: the crossing's refinement.

The crossover search (:mod:`aalps.optimizer.crossover`) brackets a crossing between two
points of its grid (a factor of 4 apart) and must locate it to a relative
:data:`PRECISION`: the answer is a scale whose gap is negative with a scale at most that
much below it whose gap is not. Every gap costs an evaluation of the whole challenged plan
at a new point of the ray (hundreds of task plans), so the number of gaps is what counts.

:func:`crossing_root` works on ``x = log s``, where the gaps of smooth costs are nearly
polynomial. Its estimates come from the caller's model when it has one (a one-task
challenger's: :class:`~aalps.optimizer.swap_curve.SwapCurve`, which takes two to five gaps
where regula falsi took about nine); otherwise the first is the root of the polynomial
through the grid's gaps around the bracket (no new gap), each next one inverse quadratic
interpolation through
the three latest gaps (a secant step with two), kept inside the bracket and falling back
to bisection when the estimates stop shrinking the bracket; once an estimate is close
(the last step moved it less than the precision), the next gaps are taken just either side
of it, so that one or two evaluations close the bracket.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = ["MAX_STEPS", "PRECISION", "crossing_root"]

#: The crossing is located to this relative precision (on ``log s``).
PRECISION = 1e-6
#: At most this many gaps per crossing.
MAX_STEPS = 60
#: An estimate is taken this far inside the precision either side of itself at the end.
_HALF = 0.45 * PRECISION


def crossing_root(
    gap: Callable[[float], float],
    grid: Sequence[float],
    gaps: Sequence[float],
    last: int,
    model: Callable[[float, float], float | None] | None = None,
) -> float:
    """The least scale in ``(grid[last], grid[last + 1]]`` past which ``gap`` stays negative,
    to :data:`PRECISION`: ``gaps[last] >= 0 > gaps[last + 1]`` (``gaps`` the grid's).

    ``model(x_lo, x_hi)``: an estimate of the crossing on ``log s`` within the bracket from
    what the caller knows beyond the gaps (:class:`~aalps.optimizer.swap_curve.SwapCurve`),
    tried before interpolating the gaps."""
    x_lo, x_hi = math.log(grid[last]), math.log(grid[last + 1])
    # The points known, for interpolation: the grid's around the bracket, then each new one.
    around = range(max(0, last - 1), min(len(grid), last + 3))
    known = [(math.log(grid[i]), gaps[i]) for i in around if math.isfinite(gaps[i])]
    estimate = model(x_lo, x_hi) if model is not None else None
    if estimate is None:
        estimate = _polynomial_root(known, x_lo, x_hi)
    moved = before = math.inf  # how far the latest two estimates moved
    for _ in range(MAX_STEPS):
        if x_hi - x_lo <= PRECISION:
            break
        stalled = PRECISION <= moved and moved > before / 2
        if estimate is None or not x_lo < estimate < x_hi or stalled:
            # No estimate, or the estimates stopped converging: halve the bracket.
            estimate, moved, before = (x_lo + x_hi) / 2, math.inf, math.inf
        x = estimate
        if moved < PRECISION:
            # Close: a point just past the estimate towards the end of the bracket that is
            # not yet within reach, so that the next one or two close the bracket.
            x += _HALF if estimate - x_lo <= x_hi - estimate else -_HALF
            x = min(max(x, x_lo + _HALF / 2), x_hi - _HALF / 2)
        g = gap(math.exp(x))
        if g < 0:
            x_hi = x
        else:
            x_lo = x
        if math.isfinite(g):
            known.append((x, g))
        found = model(x_lo, x_hi) if model is not None else None
        if found is None:
            found = _next_estimate(known[-3:], x_lo, x_hi)
        before = moved
        moved = abs(found - estimate) if found is not None else math.inf
        estimate = found
    return math.exp(x_hi)


def _next_estimate(points: Sequence[tuple[float, float]], lo: float, hi: float) -> float | None:
    """Inverse quadratic interpolation through the latest three points (secant with two),
    when the estimate falls inside ``(lo, hi)``; else the secant of the latest two."""
    if len(points) == 3:
        found = _inverse_quadratic(points)
        if found is not None and lo < found < hi:
            return found
    if len(points) >= 2:
        (x0, g0), (x1, g1) = points[-2], points[-1]
        if g1 != g0:
            found = x1 - g1 * (x1 - x0) / (g1 - g0)
            if lo < found < hi:
                return found
    return None


def _inverse_quadratic(points: Sequence[tuple[float, float]]) -> float | None:
    (a, fa), (b, fb), (c, fc) = points
    if fa == fb or fb == fc or fa == fc:
        return None
    return (
        a * fb * fc / ((fa - fb) * (fa - fc))
        + b * fa * fc / ((fb - fa) * (fb - fc))
        + c * fa * fb / ((fc - fa) * (fc - fb))
    )


def _polynomial_root(points: Sequence[tuple[float, float]], lo: float, hi: float) -> float | None:
    """The root in ``(lo, hi)`` of the interpolating polynomial through ``points`` (Newton
    form), found by bisection on the polynomial (cheap: no gap is evaluated); None when it
    does not change sign there."""
    xs = [x for x, _ in points]
    coefficients = [g for _, g in points]
    n = len(points)
    for level in range(1, n):
        for i in range(n - 1, level - 1, -1):
            coefficients[i] = (coefficients[i] - coefficients[i - 1]) / (xs[i] - xs[i - level])

    def value(x: float) -> float:
        total = coefficients[-1]
        for i in range(n - 2, -1, -1):
            total = total * (x - xs[i]) + coefficients[i]
        return total

    v_lo, v_hi = value(lo), value(hi)
    if not (v_lo >= 0 > v_hi):
        return None
    for _ in range(60):
        mid = (lo + hi) / 2
        if value(mid) < 0:
            hi = mid
        else:
            lo = mid
    return hi
