"""Where a gap along the scale ray turns negative for good: the crossing's refinement.

The crossover search (:mod:`aalps.optimizer.crossover`) brackets a crossing between two
points of its grid (a factor of 4 apart) and must locate it to a relative
:data:`PRECISION`: the answer is a scale whose gap is negative with a scale at most that
much below it whose gap is not. Every gap costs an evaluation of the whole challenged plan
at a new point of the ray (hundreds of task plans), so the number of gaps is what counts.

Both refinements work on ``x = log s``. :func:`bracket_root` opens with two steps of
regula falsi (the Illinois variant), the steps the search took first when it took them
all: a bracket that holds more than one crossing (a staircase of AHEAD_BY_K's lead) is
narrowed the same way, so the search meets the crossing it met. It then takes each gap at
the root of the cubic through the bracket's ends and the two points nearest the latest
(kept inside the bracket): about six gaps a crossing where regula falsi took about nine.

:func:`crossing_root` takes its estimates from the caller's model when it has one (a
one-task challenger's: :class:`~aalps.optimizer.swap_curve.SwapCurve`, which takes two to
five gaps where regula falsi took about nine); otherwise the first is the root of the
polynomial through the grid's gaps around the bracket (no new gap), each next one inverse
quadratic interpolation through the three latest gaps (a secant step with two), kept
inside the bracket and falling back to bisection when the estimates stop shrinking the
bracket.

Once an estimate is close, both pass it by a hair: :func:`crossing_root` takes its next
gaps just either side of it (the last step moved it less than the precision), and
:func:`bracket_root` one just within the precision of the bracket's end beside it, on its
far side, so that one or two evaluations close the bracket.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = ["MAX_STEPS", "PRECISION", "bracket_root", "crossing_root"]

#: The crossing is located to this relative precision (on ``log s``).
PRECISION = 1e-6
#: At most this many gaps per crossing.
MAX_STEPS = 60
#: An estimate is taken this far inside the precision either side of itself at the end.
_HALF = 0.45 * PRECISION
#: :func:`bracket_root`: its opening steps of regula falsi, at most this many gaps in all
#: (as regula falsi alone took), the distance from an end of the bracket within which an
#: estimate is passed, how far from that end the gap is then taken, and the least distance
#: of a gap from an end (so that no point is scored twice).
_OPENING = 2
_BRACKET_STEPS = 40
_REACH = 0.9 * PRECISION
_PASS = 0.999 * PRECISION
_EDGE = 1e-3 * PRECISION
#: Nodes of :func:`bracket_root`'s polynomial: the bracket's ends and the others nearest.
_NODES = 4


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


def bracket_root(
    gap: Callable[[float], float], grid: Sequence[float], gaps: Sequence[float], last: int
) -> float:
    """The least scale in ``(grid[last], grid[last + 1]]`` past which ``gap`` stays negative,
    to :data:`PRECISION`: ``gaps[last] >= 0 > gaps[last + 1]`` (``gaps`` the grid's).

    The opening steps are the Illinois variant of regula falsi's; then each gap is taken at
    the root of the polynomial through the bracket's ends and the :data:`_NODES` − 2 points
    known nearest the latest one (the grid's and the gaps taken), or where the secant of the
    ends crosses, or halfway; an estimate within :data:`_REACH` of an end is passed by a
    point :data:`_PASS` from that end (module docstring)."""
    x_lo, x_hi = math.log(grid[last]), math.log(grid[last + 1])
    g_lo, g_hi = gaps[last], gaps[last + 1]
    known = [(math.log(s), g) for s, g in zip(grid, gaps, strict=True) if math.isfinite(g)]
    w_lo, w_hi, side = g_lo, g_hi, 0  # regula falsi's values at the ends (Illinois halves)
    x = x_lo
    for step in range(_BRACKET_STEPS):
        if x_hi - x_lo <= PRECISION:
            break
        if step < _OPENING:
            x = _false_position(x_lo, x_hi, w_lo, w_hi)
        else:
            x = _polished(known, x, x_lo, x_hi, g_lo, g_hi)
        g = gap(math.exp(x))
        if math.isfinite(g):
            known.append((x, g))
        if g < 0:
            x_hi, g_hi, w_hi = x, g, g
            if side == -1:
                w_lo /= 2
            side = -1
        else:
            x_lo, g_lo, w_lo = x, g, g
            if side == 1:
                w_hi /= 2
            side = 1
    return math.exp(x_hi)


def _false_position(x_lo: float, x_hi: float, g_lo: float, g_hi: float) -> float:
    """Regula falsi's next point: where the secant of the ends crosses zero, halfway when it
    falls outside the bracket or hugs its lower end, and half the precision inside an end
    it comes closer to than that."""
    x = x_hi - g_hi * (x_hi - x_lo) / (g_hi - g_lo) if g_hi != g_lo else (x_lo + x_hi) / 2
    step = PRECISION / 2
    if not x_lo < x < x_hi:
        return (x_lo + x_hi) / 2
    if x - x_lo < step:
        return x_lo + step
    if x_hi - x < step:
        return x_hi - step
    if (x - x_lo) < 1e-3 * (x_hi - x_lo):
        return (x_lo + x_hi) / 2
    return x


def _polished(
    known: Sequence[tuple[float, float]],
    latest: float,
    x_lo: float,
    x_hi: float,
    g_lo: float,
    g_hi: float,
) -> float:
    """:func:`bracket_root`'s next point after the opening (its docstring)."""
    ends = [(x, g) for x, g in ((x_lo, g_lo), (x_hi, g_hi)) if math.isfinite(g)]
    others = sorted(
        (p for p in known if p[0] != x_lo and p[0] != x_hi), key=lambda p: abs(p[0] - latest)
    )
    nodes = [*ends, *others[: _NODES - len(ends)]]
    estimate = _polynomial_root(nodes, x_lo, x_hi, _EDGE) if len(nodes) >= 2 else None
    if estimate is None and len(ends) == 2 and g_hi != g_lo:
        estimate = x_hi - g_hi * (x_hi - x_lo) / (g_hi - g_lo)
    if estimate is None or not math.isfinite(estimate):
        estimate = (x_lo + x_hi) / 2
    # An estimate is no further than the bracket's ends (the roots found there are
    # inside it, but for rounding: then it is within reach of that end).
    estimate = min(max(estimate, x_lo), x_hi)
    below, above = estimate - x_lo, x_hi - estimate
    if above < _REACH and above <= below:
        estimate = x_hi - _PASS
    elif below < _REACH:
        estimate = x_lo + _PASS
    return min(max(estimate, x_lo + _EDGE), x_hi - _EDGE)


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


def _polynomial_root(
    points: Sequence[tuple[float, float]], lo: float, hi: float, width: float = 0.0
) -> float | None:
    """The root in ``(lo, hi)`` of the interpolating polynomial through ``points`` (Newton
    form), found by bisection on the polynomial (cheap: no gap is evaluated) to ``width``
    (at most 60 halvings); None when it does not change sign there."""
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
        if hi - lo <= width:
            break
        mid = (lo + hi) / 2
        if value(mid) < 0:
            hi = mid
        else:
            lo = mid
    return hi
