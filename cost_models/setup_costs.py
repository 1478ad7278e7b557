"""One-time costs and volume: a setup paid once, amortized over the runs of a plan's life.

A catalog model may carry a ``setup_cost``: demonstrations written by a teacher model,
prompt optimization, fine-tuning, whatever makes this variant of a model cheaper or more
reliable on the work. It is paid once per task role that uses the model (demonstrations
and tuned prompts are a role's own), in the request's cost units, and a request's
``volume`` says how many runs the plan serves. The objective is the per-run cost with the
setup amortized: ``setup / volume + per-run cost``; every plan reports its ``setup_cost``
and its ``per_run_cost`` beside it, and the break-even volume against the best plan without
any setup is in :mod:`aalps.optimizer.break_even`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sympy
from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.domain import Model
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import read_number

__all__ = ["MAX_VOLUME", "amortized", "read_volume", "setup_of"]

_ZERO = sympy.Integer(0)

#: The largest volume a request may state (runs).
MAX_VOLUME = 1e15


def read_volume(value: Any, errors: Violations) -> float:
    """A request's ``volume``: runs over the plan's life, > 0 (1 when unset or 0, the wire's
    unset number)."""
    volume = read_number(value, "volume", errors, low=0.0, high=MAX_VOLUME)
    return volume or 1.0


def setup_of(models: Iterable[Model]) -> sympy.Rational:
    """The one-time cost of the models of a task plan's roles (one setup per role)."""
    costs = [m.setup_cost for m in models if m.setup_cost]
    return sympy.Add(*costs) if costs else _ZERO


def amortized(setup: sympy.Rational, volume: float, arithmetic: Arithmetic) -> Value:
    """``setup / volume`` in ``arithmetic`` (0 without a setup)."""
    if setup == 0:
        return 0
    if arithmetic.symbolic:
        return setup / sympy.Rational(repr(volume))
    return arithmetic.number(setup) / arithmetic.number(volume)
