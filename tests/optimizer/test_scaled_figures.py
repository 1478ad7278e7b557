"""The scaled model of :func:`scaled_evaluator` is the one ``dataclasses.replace`` and
``sympy.Float(value, 30)`` build (the module builds both without their generic paths)."""

from __future__ import annotations

import math
import random
from dataclasses import fields, replace

import pytest
import sympy
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer.scaled_figures import (
    PRICE_FIELDS,
    RELIABILITY,
    SIZE,
    _number,
    scaled_evaluator,
)

from tests.optimizer.random_requests import random_request_data, wide_request_data


def _same_number(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert a == b
    if isinstance(b, sympy.Float):
        assert isinstance(a, sympy.Float)
        assert a._mpf_ == b._mpf_ and a._prec == b._prec


def test_numbers_are_sympy_floats_of_30_digits() -> None:
    rng = random.Random(7)
    values = [rng.random() * 10.0 ** rng.randint(-320, 300) for _ in range(3000)]
    values += [0.0, -0.0, 1.0, 0.5, 0.9, 0.1 * 3, 5e-324, 1.7976931348623157e308]
    values += [math.inf, -math.inf, -0.25]
    for value in values:
        _same_number(_number(value), sympy.Float(value, 30))
    assert _number(math.nan) is sympy.nan


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_scaled_models_are_the_replaced_ones(seed: int) -> None:
    data = wide_request_data(seed, 6, 5) if seed == 1 else random_request_data(seed)
    evaluator = PlanEvaluator(load_request(data))
    names = PRICE_FIELDS + (SIZE,)
    for model in evaluator.catalog.models:
        for factor in (2.0, 0.37, 1.9, 0.0):
            for name in names:
                if name == SIZE:
                    expected = replace(model, size_value=model.size_value * factor)
                else:
                    value = sympy.Float(float(getattr(model, name)) * factor, 30)
                    expected = replace(model, **{name: value})
                _check(scaled_evaluator(evaluator, model.name, name, factor), expected)
            for capability, value in model.capabilities.items():
                capabilities = dict(model.capabilities)
                capabilities[capability] = sympy.Float(min(1.0, float(value) * factor), 30)
                expected = replace(model, capabilities=capabilities)
                scaled = scaled_evaluator(evaluator, model.name, RELIABILITY, factor, capability)
                _check(scaled, expected)


def _check(scaled: PlanEvaluator, expected: object) -> None:
    changed = scaled.catalog.by_name[expected.name]  # type: ignore[attr-defined]
    assert type(changed) is type(expected)
    assert vars(changed).keys() == vars(expected).keys()
    for f in fields(changed):
        a, b = getattr(changed, f.name), getattr(expected, f.name)
        if isinstance(b, dict):
            assert a.keys() == b.keys()
            for key in b:
                _same_number(a[key], b[key])
        else:
            _same_number(a, b)
