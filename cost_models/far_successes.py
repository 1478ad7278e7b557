"""The far point's log success, when its float underflowed: the figures' last step.

Far along the scale ray a task plan's success can fall below the smallest float; its
figures stand (a success below 1e-308 moves none of them) but its log comes from mpmath
(:meth:`~aalps.cost_models.evaluation.PlanEvaluator.task_outcome`) when its formula does
not run on logs (:mod:`.log_successes`). Many plans take this path in a large request
(every crossover point scores some), so both steps here skip the general machinery's
overheads, with the same results: :func:`log_success` is
:func:`~aalps.cost_models.shapes.log_of`, and :func:`with_log_success` is
``dataclasses.replace`` (on a record only it holds).
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
from mpmath.libmp.libelefun import LOG_TAYLOR_PREC, ln2_fixed, log_taylor_cached

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
    if prec == 53 and rounding == "n" and _TAYLOR:
        found = _log_53(digits)
        if found is not None:
            return found
    return _to_float(_mpf_log(digits, prec, rounding), rnd=rounding)


#: ``mpf_log``'s working precision at 53 bits (the context's plus 20 guard bits), where
#: it takes the Taylor series (below ``LOG_TAYLOR_PREC``, as it is in every mpmath).
_WP = 53 + 20
_ONE = 1 << _WP
_TAYLOR = _WP <= LOG_TAYLOR_PREC
#: Magnitudes from 2^73 on (bit counts past the working precision): ``mpf_log`` takes
#: the magnitude times ln 2 alone.
_BEYOND = 1 << _WP


def _log_53(digits: tuple[int, int, int, int]) -> float | None:
    """``to_float(mpf_log(digits, 53, "n"), rnd="n")`` of a positive finite mpf whose log
    takes ``mpf_log``'s general path (None for the others: 1 and powers of two, numbers
    in [1/4, 2), magnitudes of 2^73 bits and more, mantissas wider than the working
    precision), with the same integer steps: the log in fixed point at the working
    precision, ``log_taylor_cached`` of the mantissa plus the magnitude times ln 2.

    Its last steps round that fixed-point number to 53 bits, to nearest with ties to even
    (``from_man_exp``), then convert the result to a float, exactly (``to_float`` of 53
    bits); Python's ``int / int`` is that correctly rounded quotient, in one C step (the
    log lies between ln 2 and 2^73 ln 2 in size, where floats are normal)."""
    _, man, exp, bc = digits
    if man <= 1 or bc > _WP:  # +inf (no mantissa), 1 and the powers of two
        return None
    mag = exp + bc
    if -1 <= mag <= 1 or not -_BEYOND < mag < _BEYOND:
        return None
    # ln 2 asked each time, as ``mpf_log`` does: mpmath keeps it at the widest precision
    # asked so far, and gives it truncated from there.
    fixed = log_taylor_cached(man << (_WP - bc), _WP) + mag * ln2_fixed(_WP)
    return fixed / _ONE


def with_log_success(outcome: TaskOutcome, log_success: float) -> TaskOutcome:
    """``dataclasses.replace(outcome, log_success=log_success)`` of an ``outcome`` no one
    else holds (the float figures just worked out): for a log that is not nan
    (``__post_init__`` would leave it) the log is written into the record itself, the
    other fields as they were, without a copy; thousands of far-point successes take it."""
    if math.isnan(log_success):
        return replace(outcome, log_success=log_success)
    outcome.__dict__["log_success"] = log_success  # the field's place kept (a dict key)
    return outcome
