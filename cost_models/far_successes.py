"""The far point's log success, when its float underflowed: the figures' last step.

Far along the scale ray a task plan's success can fall below the smallest float; its
figures stand (a success below 1e-308 moves none of them) but its log comes from mpmath
(:meth:`~aalps.cost_models.evaluation.PlanEvaluator.task_outcome`). Thousands of plans take
this path in a large request, so both steps here skip the general machinery's overheads,
with the same results: :func:`log_success` is :func:`~aalps.cost_models.shapes.log_of`, and
:func:`with_log_success` is ``dataclasses.replace``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import mpmath
from aalps.cost_models.arithmetic import Value
from aalps.cost_models.outcomes import TaskOutcome
from aalps.cost_models.shapes import log_of
from mpmath.libmp import finf as _FINF
from mpmath.libmp import mpf_log as _mpf_log
from mpmath.libmp import to_float as _to_float

__all__ = ["log_success", "with_log_success"]

_MP = mpmath.mp
_MPF = mpmath.mpf


def log_success(success: Value) -> float:
    """:func:`.shapes.log_of` of a far-point success: an mpmath number's sign read from its
    digits (``value > 0`` through mpmath's comparison costs microseconds), the same libmp
    log at the context's precision and rounding; other numbers through ``log_of``."""
    if type(success) is not _MPF:
        return log_of(success)
    digits = success._mpf_
    # ``> 0``: a positive number (sign 0, a mantissa) or +inf; not 0, nan or negatives.
    if not ((digits[0] == 0 and digits[1]) or digits == _FINF):
        return -math.inf
    prec, rounding = _MP._prec_rounding
    return _to_float(_mpf_log(digits, prec, rounding), rnd=rounding)


def with_log_success(outcome: TaskOutcome, log_success: float) -> TaskOutcome:
    """``dataclasses.replace(outcome, log_success=log_success)`` for a log that is not nan
    (``__post_init__`` would leave it), the fields copied in one step without the frozen
    dataclass's ``__init__``: thousands of far-point successes take it."""
    if math.isnan(log_success):
        return replace(outcome, log_success=log_success)
    copied: TaskOutcome = object.__new__(TaskOutcome)
    state = copied.__dict__
    state.update(outcome.__dict__)  # every field (a record's dict holds them, in order)
    state["log_success"] = log_success
    return copied
