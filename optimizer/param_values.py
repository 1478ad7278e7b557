"""The values an integer operator parameter is enumerated over (see
:mod:`aalps.optimizer.enumeration`): every value of a narrow range, a log-spaced sample of a
wide one, and AHEAD_BY_K's longest useful lead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import sympy
from aalps.cost_models.domain import Model, Task
from aalps.cost_models.operators import ParamSpec
from aalps.optimizer.space import TaskSpace

__all__ = [
    "LEAD_FAILURE_FLOOR",
    "PARAM_ENUMERATION_LIMIT",
    "lead_values",
    "longest_useful_lead",
    "param_values",
]

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


def lead_values(
    param: ParamSpec,
    task: Task,
    catalog: Sequence[Model],
    capability: str,
    number: Callable[[sympy.Expr], float],
) -> list[int]:
    """AHEAD_BY_K's leads worth trying on ``task``: every lead up to the one past which no
    worker model's chain can fail by more than :data:`LEAD_FAILURE_FLOOR`.

    A longer lead only adds samples (cost grows about linearly in it) for a gain in
    success below what a float resolves, so it never improves any objective; shorter
    ones are all tried, which keeps the enumeration exact. ``number``: an expression's
    value at the scale point, computed as the evaluator does.
    """
    steps = task.steps
    assert steps is not None
    count = max(1.0, number(steps.count))
    step_in = number(task.prompt_tokens + steps.tokens)
    top = param.low
    for model in catalog:
        if capability not in model.capabilities:
            continue
        p = float(model.capabilities[capability]) * (1 - float(model.per_token_error)) ** step_in
        top = max(top, longest_useful_lead(p, count))
    return list(range(param.low, min(top, param.high) + 1))
