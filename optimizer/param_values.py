"""The values an integer operator parameter is enumerated over (see
:mod:`aalps.optimizer.enumeration`): every value of a narrow range, a log-spaced sample of a
wide one, and AHEAD_BY_K's longest useful lead.
"""

from __future__ import annotations

import math

from aalps.cost_models.operators import ParamSpec
from aalps.optimizer.space import TaskSpace

__all__ = ["LEAD_FAILURE_FLOOR", "PARAM_ENUMERATION_LIMIT", "longest_useful_lead", "param_values"]

#: Leads beyond the one that makes a chain's failure probability this small are useless.
LEAD_FAILURE_FLOOR = 1e-17
#: Integer parameters with a wider range are sampled (only chunk sizes are that wide).
PARAM_ENUMERATION_LIMIT = 256


def longest_useful_lead(p: float, steps: float) -> int:
    """The least lead ``k`` with ``steps·((1−p)/p)^k ≤`` :data:`LEAD_FAILURE_FLOOR` (≥ 1).

    With ``p ≤ 1/2`` a longer lead only makes the wrong answer likelier: 3 covers it.
    """
    if p >= 1.0:
        return 1
    if p <= 0.5:
        return 3
    ratio = (1.0 - p) / p
    need = math.log(LEAD_FAILURE_FLOOR / steps) / math.log(ratio)
    return max(1, math.ceil(need))


def param_values(param: ParamSpec, space: TaskSpace) -> list[int]:
    """Every value of a parameter, or a log-spaced sample of a wide one (then not exact)."""
    if param.high - param.low < PARAM_ENUMERATION_LIMIT:
        return list(range(param.low, param.high + 1))
    space.exact = False
    ratio = (param.high / param.low) ** (1 / (PARAM_ENUMERATION_LIMIT - 1))
    return sorted({round(param.low * ratio**j) for j in range(PARAM_ENUMERATION_LIMIT)})
