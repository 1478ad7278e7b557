"""The symbolic side's reuse (shared Θ analyzers, memoized costs) returns exactly what the
straightforward computation does: compared with ``sympy.srepr`` against fresh analyzers and
plain sympy arithmetic on the same inputs."""

from __future__ import annotations

import random

import aalps.cost_models.bounds as bounds_module
import pytest
import sympy
from aalps.cost_models._theta import _Theta
from aalps.cost_models.bounds import derive_bound, separation
from sympy import Max, Min, ceiling, log

from tests.cost_models.full_run_costs import full_run_cost

k, l, b = sympy.symbols("k l b", positive=True)  # noqa: E741 (the paper's names)
m_a, m_b = sympy.symbols("m_a m_b", positive=True)
CONTEXT = {"growing": (k, l, b), "model_symbols": (m_a, m_b), "assumptions": (b <= k,)}


def _fresh_bound(expr: sympy.Expr) -> tuple[str, str, list[tuple[str, str]]]:
    """Θ by a new analyzer of the context (what every call did before analyzers were kept)."""
    analyzer = _Theta((b, k, l), (m_a, m_b), (b <= k,))
    total, groups = analyzer.bound(expr)
    return (
        sympy.srepr(total),
        str(total),
        [(sympy.srepr(m), sympy.srepr(g)) for m, g in groups.items()],
    )


def _shared_bound(expr: sympy.Expr) -> tuple[str, str, list[tuple[str, str]]]:
    bound = derive_bound(expr, **CONTEXT)
    groups = [(sympy.srepr(m), sympy.srepr(g)) for m, g in bound.groups.items()]
    return sympy.srepr(bound.expr), bound.text, groups


def _random_cost(rng: random.Random) -> sympy.Expr:
    atoms = [k, l, b, k * l, k**2, 2**k, log(k), ceiling(k / b), Max(k, l), Min(b, l), 1 / (k + l)]
    terms = []
    for _ in range(rng.randint(1, 6)):
        factors = rng.sample(atoms, rng.randint(1, 3))
        model = rng.choice((m_a, m_b, 1))
        coefficient = sympy.Rational(rng.randint(-3, 9), rng.randint(1, 4))
        terms.append(coefficient * model * sympy.Mul(*factors))
    return sympy.Add(*terms) + rng.choice((0, m_a * k * l * b, (k + b) ** 2 * m_b))


def test_shared_analyzer_equals_fresh_analyzers():
    rng = random.Random(7)
    costs = [_random_cost(rng) for _ in range(60)]
    bounds_module._analyzers().clear()
    # Interleaved and repeated, so that later bounds find earlier results in the analyzer.
    for cost in [*costs, *reversed(costs), *costs[::3]]:
        try:
            expected = _fresh_bound(cost)
        except Exception as error:  # noqa: BLE001 - the shared analyzer must fail alike
            with pytest.raises(type(error)):
                _shared_bound(cost)
            continue
        assert _shared_bound(cost) == expected


def test_shared_separation_equals_fresh_analyzers():
    rng = random.Random(11)
    costs = [_random_cost(rng) for _ in range(20)]
    pairs = [(x, y) for x in costs[:5] for y in costs[5:]]
    bounds_module._analyzers().clear()
    shared = [separation(derive_bound(x, **CONTEXT), derive_bound(y, **CONTEXT)) for x, y in pairs]
    fresh = []
    for x, y in pairs:
        bounds_module._analyzers().clear()
        fresh.append(separation(derive_bound(x, **CONTEXT), derive_bound(y, **CONTEXT)))
    assert [[(s.role, sympy.srepr(s.expr)) for s in seps] for seps in shared] == [
        [(s.role, sympy.srepr(s.expr)) for s in seps] for seps in fresh
    ]


def test_group_cost_memo_equals_computing_anew():
    from aalps.cost_models.arithmetic import SYMBOLIC
    from aalps.cost_models.call_costs import Pricing, group_cost
    from aalps.cost_models.domain import CostModel
    from aalps.cost_models.operators import CallGroup

    m = sympy.Symbol("m_x", positive=True)
    rng = random.Random(3)
    sizes = [k, l, k * l, b + 1, sympy.Integer(2), 2, sympy.Rational(1, 2), 0]
    cases = []
    for _ in range(80):
        group = CallGroup(
            "r", rng.choice(sizes[:6]), rng.choice(sizes), rng.choice(sizes), rng.choice(sizes)
        )
        pricing = Pricing(m, sympy.Rational(rng.randint(1, 5), 7), sympy.Rational(3, 11))
        cases.append((group, rng.choice(list(CostModel)), pricing, rng.choice((1, 3))))
    for group, cost_model, pricing, votes in [*cases, *cases]:  # the second round from the memo
        expected = group_cost(group, cost_model, pricing, votes, SYMBOLIC, memo=False)
        got = group_cost(group, cost_model, pricing, votes, SYMBOLIC)
        assert sympy.srepr(got) == sympy.srepr(expected)
        assert type(got) is type(expected)


def test_polynomial_series_equals_sympy_expand():
    """The series on exact polynomials is ``sympy.expand`` of the series on sympy objects."""
    from aalps.cost_models.call_costs import Pricing, _polynomial_series, _series, call_cost
    from aalps.cost_models.domain import CostModel
    from aalps.cost_models.operators import CallGroup

    m = sympy.Symbol("m_x", positive=True)
    rng = random.Random(5)
    parts = [k, l, b, k * l, b + 1, (k + l) ** 2, sympy.Integer(3), sympy.Rational(5, 2)]
    checked = 0
    for _ in range(120):
        values = [sympy.Add(*rng.sample(parts, rng.randint(1, 3))) for _ in range(4)]
        if rng.random() < 0.2:
            values[rng.randrange(4)] = ceiling(k / b)  # not a polynomial: left to sympy
        group = CallGroup("r", *values)
        size = rng.choice((m, sympy.Integer(7), m * k))
        pricing = Pricing(size, sympy.Rational(rng.randint(1, 9), 13), sympy.Rational(2, 3))
        cost_model = rng.choice(list(CostModel))
        got = _polynomial_series(group, cost_model, pricing)
        if got is None:
            assert any(v.has(sympy.ceiling) for v in values)
            continue

        def f(j, group=group, cost_model=cost_model, pricing=pricing):
            step = group.input + (j - 1) * group.input_step
            return call_cost(cost_model, pricing, step, group.output)

        assert sympy.srepr(got) == sympy.srepr(sympy.expand(_series(f, group.calls)))
        checked += 1
    assert checked > 60
    # A Python int call count computes in floats there: not converted.
    assert _polynomial_series(CallGroup("r", 3, l, 1, l), CostModel.FORWARD_PASS, pricing) is None


def test_polynomial_series_with_python_int_tokens_equals_sympy_expand():
    """Python int token counts (a detector's one written token, a literal input) are exact in
    the sympy series too: the polynomial form equals ``sympy.expand`` of it, for every cost
    model, ints in any of input, output and step."""
    from aalps.cost_models.call_costs import Pricing, _polynomial_series, _series, call_cost
    from aalps.cost_models.domain import CostModel
    from aalps.cost_models.operators import CallGroup

    m = sympy.Symbol("m_x", positive=True)
    rng = random.Random(9)
    parts = [k, l, b, 2 * k * l + 1, b + 3]
    ints = [0, 1, 2, 4, 21, 200]
    checked = 0
    for _ in range(150):
        values: list = [sympy.Add(*rng.sample(parts, rng.randint(1, 2))) for _ in range(4)]
        for i in rng.sample(range(1, 4), rng.randint(1, 3)):
            values[i] = rng.choice(ints)
        group = CallGroup("r", *values)
        size = rng.choice((m, m * k))
        pricing = Pricing(size, sympy.Rational(rng.randint(1, 9), 13), sympy.Rational(2, 3))
        cost_model = rng.choice(list(CostModel))
        got = _polynomial_series(group, cost_model, pricing)
        assert got is not None

        def f(j, group=group, cost_model=cost_model, pricing=pricing):
            step = group.input + (j - 1) * group.input_step
            return call_cost(cost_model, pricing, step, group.output)

        expected = sympy.expand(_series(f, group.calls))
        assert not expected.has(sympy.Float)
        assert sympy.srepr(got) == sympy.srepr(expected)
        checked += 1
    assert checked == 150


def test_twin_tasks_take_the_same_symbolic_cost():
    """A task defined as an earlier one gets the cost and success that building them on its
    own gives (an evaluator told of no twins is the reference)."""
    import copy
    from dataclasses import replace as replace_facts

    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.loading import load_request
    from aalps.optimizer.baseline import baseline_plan

    from tests.optimizer.random_requests import wide_request_data

    for seed in range(4):
        data = wide_request_data(seed, 6, 4)
        tasks = data["graph"]["tasks"]
        for i, task in enumerate(list(tasks)):
            twin = copy.deepcopy(task)
            twin["id"] = f"twin{i}"
            tasks.append(twin)
        request = load_request(data)
        evaluator = PlanEvaluator(request)
        assert evaluator.facts.twins, "the copies are twins"
        reference = PlanEvaluator(request)
        reference.facts = replace_facts(reference.facts, twins={})
        reference._twins = {}
        plan = baseline_plan(evaluator)
        for task_plan in plan.tasks:
            assert sympy.srepr(evaluator.task_cost(task_plan)) == sympy.srepr(
                reference.task_cost(task_plan)
            )
            assert sympy.srepr(evaluator.task_success(task_plan)) == sympy.srepr(
                reference.task_success(task_plan)
            )


def test_threads_keep_their_own_analyzers():
    """Concurrent bounds (a batch served by threads) equal a fresh analyzer's."""
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(13)
    costs = [_random_cost(rng) for _ in range(40)]
    expected = []
    for cost in costs:
        try:
            expected.append(_fresh_bound(cost))
        except Exception as error:  # noqa: BLE001 - compared by type below
            expected.append(type(error))

    def shared(cost: sympy.Expr) -> object:
        try:
            return _shared_bound(cost)
        except Exception as error:  # noqa: BLE001
            return type(error)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(shared, costs * 3)) == expected * 3


def test_tasks_that_read_alike_share_the_cost_that_building_gives():
    """Task plans of different tasks whose operators read the same shape fields share one
    built cost (:func:`.symbolic_costs.shared_key`) and schedule; each equals the cost of the
    operator's full run on a fresh evaluator, and some are shared."""
    from aalps.cost_models import symbolic_costs
    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.loading import load_request
    from aalps.optimizer.enumeration import build_spaces
    from aalps.optimizer.space import Metrics

    from tests.optimizer.random_requests import wide_request_data

    shared = 0
    for seed in range(3):
        request = load_request(wide_request_data(seed, 40, 6))
        evaluator = PlanEvaluator(request)
        spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
        assert spaces is not None
        reference = PlanEvaluator(request)
        firsts: dict[object, str] = {}
        for space in spaces:
            for candidate in space.candidates[:12]:
                task_plan = candidate.plan
                got = evaluator.task_cost(task_plan)
                built = full_run_cost(reference, task_plan)
                # Structural equality (srepr would print integers of thousands of digits).
                assert got == built and type(got) is type(built)
                key = symbolic_costs.shared_key(evaluator, task_plan)
                if key is not None and task_plan.task_id not in evaluator.facts.twins:
                    first = firsts.setdefault(key, task_plan.task_id)
                    shared += first != task_plan.task_id
    assert shared > 20


def test_shared_costs_follow_a_new_catalog():
    """An evaluator with another catalog builds its own costs: a shared key's first plan
    costs what the new reliabilities give, not what the old ones gave."""
    from dataclasses import replace as replace_record

    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.loading import load_request
    from aalps.optimizer.enumeration import build_spaces
    from aalps.optimizer.space import Metrics

    from tests.optimizer.random_requests import wide_request_data

    request = load_request(wide_request_data(1, 30, 4))
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
    assert spaces is not None
    plans = [c.plan for s in spaces for c in s.candidates[:12]]
    before = [evaluator.task_cost(tp) for tp in plans]
    models = tuple(
        replace_record(m, capabilities={c: p * 9 / 10 for c, p in m.capabilities.items()})
        for m in request.catalog.models
    )
    other = evaluator.with_catalog(replace_record(request.catalog, models=models))
    fresh = PlanEvaluator(replace_record(request, catalog=other.catalog))
    changed = 0
    for task_plan, old in zip(plans, before, strict=True):
        got = other.task_cost(task_plan)
        built = full_run_cost(fresh, task_plan)
        assert got == built and type(got) is type(built)
        assert evaluator.task_cost(task_plan) is old
        changed += got != old
    assert changed > 5
