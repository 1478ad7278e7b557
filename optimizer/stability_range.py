"""The record a stability range is reported as (:mod:`aalps.optimizer.stability`), and the
tie its comparisons allow, shared by the price and reliability ranges' modules."""

from __future__ import annotations

from dataclasses import dataclass

from aalps.cost_models.domain import TaskPlan

__all__ = ["TIE", "StabilityRange"]

#: Objectives within this relative distance are ties (the plan stays optimal).
TIE = 1e-9


@dataclass(frozen=True)
class StabilityRange:
    """The factors on one model figure over which the plan stays optimal.

    ``field`` is ``price_per_input_token``, ``price_per_output_token``, ``size`` or
    ``reliability`` (then ``capability`` names which). The plan stays optimal while the
    figure is multiplied by a factor within ``[low, high]``; past ``high`` the task plans in
    ``above`` replace the plan's (each names its task), below ``low`` those in ``below``.
    ``low`` 0 and ``high`` infinite mean no alternative takes over that way; an end with no
    task plans and a finite factor is where the plan itself breaks a constraint
    (``max_cost``, ``min_success_probability``) or, for reliabilities, the scan's floor
    :data:`~aalps.optimizer.stability_reliability.RELIABILITY_FLOOR`. ``conditional``:
    constraints or the cost-of-a-correct-result objective couple the tasks, so the range
    holds over single-task changes only.
    """

    model: str
    field: str
    low: float
    high: float
    below: tuple[TaskPlan, ...] = ()
    above: tuple[TaskPlan, ...] = ()
    capability: str = ""
    conditional: bool = False
