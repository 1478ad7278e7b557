"""Costs with huge exact constants reach the wire as readable text of the same value.

A random workflow (seed 605 of the what-if benchmark's generator) has crossover plans whose
symbolic cost holds a chain success ``p**lead`` with thousands of exact digits: converting it
to text raised Python's int-to-str limit, so the whole Optimize failed.
"""

from __future__ import annotations

import sympy
from aalps.client import Client
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.proto.convert import expression_text

from tests.optimizer.random_requests import random_request_data


def _value(text: str, values: dict[sympy.Symbol, float]) -> float:
    # The test's own oracle: sympy reads the text back (our output, not user input).
    parsed = sympy.sympify(text, locals={str(s): s for s in values})  # noqa: S307
    return float(parsed.xreplace(values))


def test_a_constant_of_thousands_of_digits_is_shown_as_a_float_of_the_same_value() -> None:
    k = sympy.Symbol("k", positive=True)
    expr = 231 * k * (1 - sympy.Rational(3, 4) ** 20_000) + sympy.Rational(7, 2)
    text = expression_text(expr)
    assert len(text) < 100
    assert _value(text, {k: 3.0}) == 231 * 3.0 + 3.5
    assert expression_text(k / 3 + 2) == str(k / 3 + 2)  # short constants stay exact


def test_the_workflow_whose_crossover_cost_had_thousands_of_digits() -> None:
    data = random_request_data(605, max_joint=2_000)
    result = optimize(load_request(data))
    long = [
        c
        for c in result.crossovers
        if any(r.p.bit_length() > 4300 * 3.3 for r in c.plan.cost.atoms(sympy.Rational))
    ]
    assert long, "the workflow no longer has a huge constant: the test proves nothing"
    for crossover in long:
        expr = crossover.plan.cost
        values = {s: 1.0 + i / 7 for i, s in enumerate(sorted(expr.free_symbols, key=str))}
        exact = float(expr.xreplace(values).evalf(30))
        assert abs(_value(expression_text(expr), values) - exact) <= 1e-12 * abs(exact)
    with Client.in_process() as client:
        report = client.optimize(data)
    assert report.plan.expected_cost == result.plan.outcome.expected_cost
    assert [c.plan.cost for c in report.crossovers] == [
        expression_text(c.plan.cost) for c in result.crossovers
    ]


def test_the_library_result_of_that_workflow_can_be_printed() -> None:
    """repr of the result (print in a notebook) raised the int-to-str limit from the costs
    of its crossover plans; they now show the long constants as the wire's floats."""
    result = optimize(load_request(random_request_data(605, max_joint=2_000)))
    text = repr(result)
    for crossover in result.crossovers:
        assert repr(crossover.plan).count("TaskEvaluation(") == len(crossover.plan.tasks)
        shown = repr(crossover.plan).split(", cost=")[-1].split(", outcome=")[0]
        values = {
            s: 1.0 + i / 7 for i, s in enumerate(sorted(crossover.plan.cost.free_symbols, key=str))
        }
        exact = float(crossover.plan.cost.xreplace(values).evalf(30))
        assert abs(_value(shown, values) - exact) <= 1e-12 * abs(exact)
        assert shown in text
