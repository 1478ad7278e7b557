"""Acceptance 5: a plan cheaper at the scale point loses to one that grows slower."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import mpmath
import pytest
import sympy
from aalps.cost_models.domain import Operator
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.crossover import approximately


def _debugging(scale_k: int = 4, scale_l: int = 10) -> dict:  # type: ignore[type-arg]
    """Debugging with a huge detector model: at k=4, l=10, b=1, rewriting the whole input in
    one call (DIRECT, m_dev·k²l²·1.5 ≈ 2,400·m_dev) beats scanning with the detector
    (SCAN_AND_FIX, 100·m_dev·k·l + m_dev·b·l²·1.5 ≈ 4,150·m_dev); SCAN_AND_FIX grows as
    k·l + b·l², DIRECT as k²l². MAP is ruled out (no model rewrites single blocks)."""
    return {
        "graph": {
            "parameters": [
                {"name": "k", "value": scale_k},
                {"name": "l", "value": scale_l},
                {"name": "b", "value": 1},
                {"name": "n", "expr": "k*l"},
            ],
            "assumptions": ["b <= k"],
            "tasks": [
                {
                    "id": "debug",
                    "capability": "fix_bug",
                    "role_capabilities": {
                        "detector": "find_bug",
                        "fixer": "fix_bug",
                        "MAP.worker": "rewrite_block",
                    },
                    "input_tokens": "n",
                    "output_tokens": "n",
                    "blocks": {"count": "k", "size": "l"},
                    "defects": {"count": "b"},
                }
            ],
        },
        "catalog": {
            "models": [
                {"name": "qa", "size": 10**11, "capabilities": {"find_bug": 1.0}},
                {"name": "dev", "size": 10**9, "capabilities": {"fix_bug": 1.0}},
            ]
        },
    }


def _cost_along_path(request, task_plan, scale: float) -> mpmath.mpf:  # type: ignore[no-untyped-def]
    """The symbolic cost at every growing parameter times ``scale`` (computed here, apart)."""
    evaluator = PlanEvaluator(request)
    cost = evaluator.task_cost(task_plan).xreplace(request.graph.substitutions)
    point = {}
    for p in request.graph.parameters:
        if p.expr is None:
            point[p.symbol] = sympy.Float(p.value * (scale if p.grows else 1), 30)
    for m in request.catalog.models:
        if m.size.is_Symbol:
            point[m.size] = sympy.Float(m.size_value, 30)
    return sympy.N(cost.xreplace(point), 30)


def test_crossover_is_reported_where_the_costs_cross() -> None:
    request = load_request(_debugging())
    result = optimize(request)
    (best,) = result.plan.plan.tasks
    assert best.operator is Operator.DIRECT
    scan = [c for c in result.crossovers if c.plan.plan.tasks[0].operator is Operator.SCAN_AND_FIX]
    assert len(scan) == 1
    crossover = scan[0]
    (alternative,) = crossover.plan.plan.tasks
    s = crossover.scale
    assert s > 1
    below, above = s * (1 - 1e-3), s * (1 + 1e-3)
    assert _cost_along_path(request, alternative, below) > _cost_along_path(request, best, below)
    assert _cost_along_path(request, alternative, above) < _cost_along_path(request, best, above)
    assert crossover.parameter == "k"
    assert crossover.at == pytest.approx(4 * s)
    assert crossover.values == pytest.approx({"k": 4 * s, "l": 10 * s, "b": 1 * s})
    where = f"k ≈ {approximately(4 * s)}, l ≈ {approximately(10 * s)}, b ≈ {approximately(s)}"
    assert crossover.text.endswith(f"is cheaper beyond scale ×{approximately(s)} ({where})")
    # The one-task alternative is the asymptotic optimum itself.
    assert result.asymptotic_plan is not None
    assert result.asymptotic_plan.plan == crossover.plan.plan


def test_no_crossover_when_the_best_plan_also_grows_slowest() -> None:
    """At a large scale point SCAN_AND_FIX is already the cheapest: nothing overtakes it."""
    result = optimize(load_request(_debugging(scale_k=400, scale_l=1000)))
    assert result.plan.plan.tasks[0].operator is Operator.SCAN_AND_FIX
    assert result.crossovers == ()


@pytest.mark.parametrize(
    ("value", "text"),
    [(3412.7, "3,410"), (3400, "3,400"), (12.345, "12.3"), (1.5, "1.5"), (123456, "123,000")],
)
def test_approximately(value: float, text: str) -> None:
    assert approximately(value) == text


def _shaped_gap(seed: int) -> tuple[float, float, Callable[[float], float]]:
    """A bracket ``(lo, hi)`` a factor of 4 wide and a gap of one of several shapes in
    ``log s`` across it (linear, curved, flat around the root, with a jump)."""
    rng = random.Random(seed)
    lo = 4.0 ** rng.randint(0, 8)
    x0 = math.log(lo) + rng.uniform(0.01, 0.99) * math.log(4)
    shape = seed % 4

    def gap(s: float) -> float:
        d = x0 - math.log(s)
        if shape == 0:
            return 3.0 * d
        if shape == 1:
            return math.expm1(2.0 * d)
        if shape == 2:
            return d**3 + 1e-2 * d
        return (0.5 if d > 0 else -0.5) + 0.1 * d

    return lo, lo * 4, gap


@pytest.mark.parametrize("seed", range(30))
def test_the_root_is_the_last_sign_change_to_the_precision(seed: int) -> None:
    """The scale returned has a negative gap, and one precision below it a gap >= 0."""
    from aalps.optimizer.ray_roots import PRECISION, bracket_root

    lo, hi, shaped = _shaped_gap(seed)
    calls = []

    def gap(s: float) -> float:
        calls.append(s)
        return shaped(s)

    s = bracket_root(gap, [lo, hi], [shaped(lo), shaped(hi)], 0)
    assert gap(s) < 0
    assert gap(s * math.exp(-PRECISION)) >= 0
    assert len(calls) <= 42


def _regula_falsi(gap: Callable[[float], float], lo: float, hi: float) -> float:
    """The crossing by the Illinois variant of regula falsi alone on ``log s``, to a
    relative 1e-6 (as the crossover search located it before :func:`bracket_root`)."""
    x_lo, x_hi = math.log(lo), math.log(hi)
    g_lo, g_hi = gap(lo), gap(hi)
    side = 0
    for _ in range(40):
        if x_hi - x_lo <= 1e-6:
            break
        x = x_hi - g_hi * (x_hi - x_lo) / (g_hi - g_lo)
        if not x_lo < x < x_hi or x - x_lo < 1e-3 * (x_hi - x_lo):
            x = (x_lo + x_hi) / 2
        g = gap(math.exp(x))
        if g < 0:
            x_hi, g_hi = x, g
            g_lo, side = (g_lo / 2 if side == -1 else g_lo), -1
        else:
            x_lo, g_lo = x, g
            g_hi, side = (g_hi / 2 if side == 1 else g_hi), 1
    return math.exp(x_hi)


@pytest.mark.parametrize("seed", range(100))
def test_the_root_is_regula_falsis_crossing(seed: int) -> None:
    """Gaps that cross zero once in the bracket, and staircases that cross it three times
    (smooth falls, each next one rising above zero by a jump), with the grid's other gaps
    around: the crossing :func:`bracket_root` meets is the one regula falsi alone met
    (its opening steps pick the same part of the bracket), within the precision."""
    from aalps.optimizer.ray_roots import PRECISION, bracket_root

    rng = random.Random(seed)
    grid = [4.0**i for i in range(10)] + [1e6]
    last = rng.randint(0, 8)
    lo, hi = grid[last], grid[last + 1]
    x_lo, width = math.log(lo), math.log(4)
    if seed % 2:
        lo, hi, gap = _shaped_gap(seed)
        last = round(math.log(lo, 4))
    else:
        ends = [0.0, *sorted(rng.uniform(0.1, 0.9) for _ in range(2)), 1.0]
        height, bend = rng.uniform(1e-4, 2), rng.uniform(0.5, 6)

        def gap(s: float) -> float:
            t = (math.log(s) - x_lo) / width
            if not 0 <= t <= 1:  # the grid's other points: above zero below, under above
                return height * (1 + abs(t)) * (1 if t < 0 else -1)
            i = max(j for j in range(3) if ends[j] <= t) if t < 1 else 2
            u = (t - ends[i]) / (ends[i + 1] - ends[i])
            return height * math.expm1(bend * (0.5 - u))

    gaps = [gap(s) for s in grid]
    found = bracket_root(gap, grid, gaps, last)
    expected = _regula_falsi(gap, lo, hi)
    assert abs(math.log(found) - math.log(expected)) <= PRECISION
    assert gap(found) < 0 <= gap(found * math.exp(-PRECISION))


@pytest.mark.parametrize("seed", range(60))
def test_the_refined_root_is_the_last_sign_change_to_the_precision(seed: int) -> None:
    """Gaps of several shapes in ``log s`` (linear, curved, flat around the root, with a
    jump, a kink, a plateau): the scale returned has a negative gap, and one precision below
    it a gap >= 0; with a model of the gap (exact, or off by a few percent) as well."""
    from aalps.optimizer.ray_roots import MAX_STEPS, PRECISION, crossing_root

    rng = random.Random(seed)
    grid = [4.0**i for i in range(10)] + [1e6]
    last = rng.randint(0, 9)
    lo, hi = grid[last], grid[last + 1]
    x0 = math.log(lo) + rng.uniform(0.01, 0.99) * math.log(hi / lo)
    shape = seed % 6
    size = 10 ** rng.uniform(-7, 1)
    calls = []

    def exact(s: float) -> float:
        d = x0 - math.log(s)
        if shape == 0:
            return size * 3.0 * d
        if shape == 1:
            return size * math.expm1(2.0 * d)
        if shape == 2:
            return size * (d**3 + 1e-2 * d)
        if shape == 3:
            return (0.5 if d > 0 else -0.5) + 0.1 * d
        if shape == 4:
            return size * (math.log1p(math.exp(3 * d)) - math.log(2))
        return size * (math.tanh(5 * d) + 0.01 * d)

    def gap(s: float) -> float:
        calls.append(s)
        return exact(s)

    gaps = [abs(exact(s)) + 1e-9 if i < last else -abs(exact(s)) - 1e-9 for i, s in enumerate(grid)]
    gaps[last], gaps[last + 1] = exact(lo), exact(hi)
    off = rng.choice([0.0, 0.03])
    models = [None, lambda a, b: min(max(x0 + off, a), b) if a < x0 + off < b else None]
    for model in models:
        calls.clear()
        s = crossing_root(gap, grid, gaps, last, model)
        assert gap(s) < 0
        assert gap(s * math.exp(-PRECISION)) >= 0
        assert len(calls) <= MAX_STEPS + 2
