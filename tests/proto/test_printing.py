"""The wire's text and LaTeX of expressions are sympy's own, whatever was printed before.

:mod:`aalps.proto.printing` remembers what it printed (whole expressions and their parts);
the oracle here is sympy's ``str`` and ``latex`` of each expression, printed afresh.
"""

from __future__ import annotations

import sympy
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.proto import printing
from aalps.proto.printing import expression_text, text_and_latex

from tests.client.conftest import example_data
from tests.optimizer.random_requests import random_request_data


def _expressions(data: dict) -> list[sympy.Expr]:
    """Every cost, bound and separation an optimize result puts on the wire."""
    result = optimize(load_request(data))
    plans = [result.plan, *result.pareto_front, *(c.plan for c in result.crossovers)]
    if result.baseline is not None:
        plans.append(result.baseline)
    exprs = [s.expr for s in result.separation]
    for plan in plans:
        exprs += [plan.cost, plan.bound.expr, *(t.cost for t in plan.tasks)]
    return exprs


def test_costs_bounds_and_separations_print_as_sympy_prints_them() -> None:
    exprs: list[sympy.Expr] = []
    for name in ("k_task_routing", "code_debugging", "evolutionary_optimization"):
        exprs += _expressions(example_data(name))
    for seed in range(1, 7):
        exprs += _expressions(random_request_data(seed))
    assert len(set(exprs)) > 50
    printing.expression_text.cache_clear()
    printing.text_and_latex.cache_clear()
    # Twice, the second time backwards: the parts come from the memo in another order.
    for expr in [*exprs, *reversed(exprs)]:
        assert expression_text(expr) == str(expr)
        assert text_and_latex(expr) == (str(expr), sympy.latex(expr))


def test_a_float_prints_its_trailing_zeros_at_the_top_level_only() -> None:
    x = sympy.Symbol("x", positive=True)
    half, fine = sympy.Float("0.5", 15), sympy.Float("0.5", 30)
    exprs = [x * half, half, x + fine, fine, half + 3 * x**2, sympy.Rational(1, 2) * x]
    for expr in [*exprs, *reversed(exprs)]:
        assert expression_text(expr) == str(expr)
        assert text_and_latex(expr) == (str(expr), sympy.latex(expr))
    assert expression_text(half) == "0.500000000000000"
    assert expression_text(x * half) == "0.5*x"
    assert expression_text(sympy.Rational(1, 2) * x) == "x/2"
