"""Reading CASCADE's facts: a model's stage rates, and the task fact that unlocks it.

A model's ``cascade`` maps a capability to its rates as a cascade stage; a task's
``cascade`` fact (``max_stages``, per-model ``rates``) unlocks CASCADE on the task and may
override the catalog's rates there. Rates: ``accept_rate`` in [0, 1] (the share of inputs
the model's confidence accepts) and an optional ``accepted_accuracy`` in (0, 1] (the
chance an accepted answer is right; absent, the model's reliability).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sympy
from aalps.cost_models.domain import Cascade, CascadeRates, Task
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import (
    ExpressionReader,
    check_keys,
    read_mapping,
    read_number,
    read_probability,
)
from aalps.cost_models.operators.cascade import MAX_STAGES

__all__ = ["CASCADE_KEYS", "check_cascade_models", "read_cascade", "read_rate_map"]

#: The keys of a task's ``cascade`` fact.
CASCADE_KEYS = frozenset({"max_stages", "rates"})
_RATE_KEYS = frozenset({"accept_rate", "accepted_accuracy"})


def _rates(value: Any, field: str, errors: Violations) -> CascadeRates | None:
    raw = read_mapping(value, field, errors)
    check_keys(raw, _RATE_KEYS, field, errors)
    if raw.get("accept_rate") is None:
        errors.add(f"{field}.accept_rate", "is required")
        return None
    accept = read_number(raw.get("accept_rate"), f"{field}.accept_rate", errors, low=0.0, high=1.0)
    accuracy = None
    if raw.get("accepted_accuracy") is not None:
        accuracy = read_probability(
            raw.get("accepted_accuracy"), f"{field}.accepted_accuracy", errors
        )
        if accuracy is None:
            return None
    if accept is None:
        return None
    return CascadeRates(sympy.Rational(repr(accept)), accuracy)


def read_rate_map(value: Any, field: str, errors: Violations) -> dict[str, CascadeRates]:
    """A map of names (capabilities, or models) to stage rates, each checked."""
    rates = {}
    for key, item in read_mapping(value, field, errors).items():
        read = _rates(item, f"{field}[{key}]", errors)
        if read is not None:
            rates[str(key)] = read
    return rates


def read_cascade(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Cascade | None:
    """The task's ``cascade`` fact: the most stages (2..4, default 3), per-model rates."""
    stages = raw.get("max_stages")
    count = 3
    if stages not in (None, 0):
        if isinstance(stages, bool) or not isinstance(stages, int | float) or stages != int(stages):
            errors.add(f"{field}.max_stages", f"must be an integer in [2, {MAX_STAGES}]")
            return None
        count = int(stages)
        if not 2 <= count <= MAX_STAGES:
            errors.add(f"{field}.max_stages", f"must be an integer in [2, {MAX_STAGES}]")
            return None
    return Cascade(count, read_rate_map(raw.get("rates"), f"{field}.rates", errors))


def check_cascade_models(
    tasks: Iterable[tuple[int, Task]], models: Iterable[str], errors: Violations
) -> None:
    """Report task ``cascade.rates`` entries that name no catalog model."""
    known = set(models)
    for i, task in tasks:
        if task.cascade is None:
            continue
        for name in sorted(set(task.cascade.rates) - known):
            errors.add(
                f"graph.tasks[{i}].cascade.rates[{name}]", f"no model {name!r} in the catalog"
            )
