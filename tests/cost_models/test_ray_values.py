"""A ray point's parameter values (:func:`~aalps.cost_models.shapes.ray_values`).

A defined parameter that is the product of two others (``n = k*l``) is the product of their
Floats, without building sympy's ``Mul``; the oracle is the general rule,
``sympy.Float(sympy.N(expr.xreplace(values), 30), 30)``, compared to the last bit (the
mpf, its precision, its decimal and float forms).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import sympy
import yaml
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.loading import load_request
from aalps.cost_models.shapes import _defined_value, model_sizes, ray_values

from tests.optimizer.random_requests import wide_request_data

k, ell, b = sympy.symbols("k l b")


def _general(expr: sympy.Expr, values: dict[sympy.Symbol, sympy.Float]) -> sympy.Expr:
    return sympy.Float(sympy.N(expr.xreplace(values), 30), 30)


def _identical(mine: sympy.Expr, reference: sympy.Expr) -> bool:
    return (
        type(mine) is type(reference)
        and mine._mpf_ == reference._mpf_
        and mine._prec == reference._prec
        and str(mine) == str(reference)
        and float(mine).hex() == float(reference).hex()
    )


def _draws(rng: random.Random) -> list[float]:
    """Floats as ray points make them: values times scales, round and not, large and small."""
    draws = [1.0, 2.0, 10.0, 200.0, 3e6, 0.1, 1e-300, 1e300, 2.0**-1074, 1.7976931348623157e308]
    for _ in range(3000):
        value = rng.choice((10.0, 200.0, 3.0, 0.7, float(rng.randint(1, 10**6))))
        scale = rng.choice((4.0 ** rng.randint(0, 10), rng.uniform(1.0, 1e6), 1e6))
        draws.append(value * scale * rng.choice((1.0, 1e-200, 1e200, 1.1)))
    return draws


def test_a_product_of_two_parameters_is_the_general_rules_float() -> None:
    rng = random.Random(11)
    draws = _draws(rng)
    checked = 0
    for a in draws:
        x, y = sympy.Float(a, 30), sympy.Float(rng.choice(draws), 30)
        values = {k: x, ell: y, b: sympy.Float(3.0, 30)}
        for expr in (k * ell, ell * k, b * k):
            mine, reference = _defined_value(expr, values), _general(expr, values)
            assert _identical(mine, reference), (expr, a, mine, reference)
            checked += 1
    assert checked > 9000


@pytest.mark.parametrize("expr", [2 * k, k**2, k * ell * b, k + ell, k / ell, k])
def test_other_definitions_take_the_general_rule(expr: sympy.Expr) -> None:
    values = {k: sympy.Float(30.0, 30), ell: sympy.Float(7.1, 30), b: sympy.Float(3.0, 30)}
    assert _identical(_defined_value(expr, values), _general(expr, values))


def test_a_product_with_a_parameter_without_value_fails_as_the_general_rule() -> None:
    values = {k: sympy.Float(30.0, 30)}
    expr = k * sympy.Symbol("unknown")
    with pytest.raises(TypeError):
        _general(expr, values)
    with pytest.raises(TypeError):
        _defined_value(expr, values)


@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_a_zero_parameter_takes_the_general_rule(zero: float) -> None:
    values = {k: sympy.Float(zero, 30), ell: sympy.Float(7.1, 30)}
    mine, reference = _defined_value(k * ell, values), _general(k * ell, values)
    assert _identical(mine, reference) and float(mine) == 0.0


def test_ray_values_of_a_wide_request_are_the_general_rules() -> None:
    """Every parameter of a wide request (``n = k*l``) at many points, against the values
    worked out by the general rule alone."""
    graph = load_request(wide_request_data(1, 4, 3)).graph
    assert graph.substitutions
    rng = random.Random(3)
    for scale in [4.0**i for i in range(10)] + [rng.uniform(1.0, 1e6) for _ in range(300)]:
        values = ray_values(graph, scale)
        reference: dict[sympy.Symbol, sympy.Expr] = {}
        for p in graph.parameters:
            if p.expr is None:
                reference[p.symbol] = sympy.Float(p.value * scale if p.grows else p.value, 30)
        for symbol, expr in graph.substitutions.items():
            reference[symbol] = _general(expr, reference)
        assert values.keys() == reference.keys()
        for symbol, value in values.items():
            assert _identical(value, reference[symbol]), (scale, symbol)


def _each_model(request: OptimizeRequest, scale: float) -> dict[str, float]:
    """The models' sizes at ``scale``, each model's worked out on its own (the rule)."""
    values = ray_values(request.graph, scale)
    sizes = {}
    for m in request.catalog.models:
        size = m.size_value
        free = m.size.free_symbols
        if scale != 1.0 and free and free <= set(values):
            try:
                size = float(sympy.N(m.size.xreplace(values), 30))
            except (OverflowError, TypeError):
                size = math.inf
        sizes[m.name] = size
    return sizes


def test_model_sizes_follow_their_parameters() -> None:
    """:func:`model_sizes` (the catalog's fixed sizes read once) equals each model's size
    worked out on its own, for sizes that grow with the ray (``k*m_s``) and fixed ones."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    routing = load_request(yaml.safe_load((examples / "k_task_routing.yaml").read_text()))
    for request_ in (routing, load_request(wide_request_data(1, 8, 6))):
        for scale in (1.0, 0.5, 3.5, 1e300, 1.0):
            mine = model_sizes(request_, ray_values(request_.graph, scale), scale)
            rule = _each_model(request_, scale)
            assert list(mine.items()) == list(rule.items())
    assert any(m.size.free_symbols for m in routing.catalog.models)
