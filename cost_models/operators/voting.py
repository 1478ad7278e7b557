"""AHEAD_BY_K: a chain of small decisions, each sampled until one answer leads by k votes.

Meyerson et al., "MAKER" (2025): per-step success ``1/(1+((1−p)/p)^k)``, expected samples per
step from the gambler's ruin; the ``k`` a whole-task target needs grows as Θ(log steps).
"""

from __future__ import annotations

from collections.abc import Mapping

from cost_models.arithmetic import Arithmetic
from cost_models.domain import Operator, Task
from cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    ParamSpec,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
)
from cost_models.stochastic import (
    ahead_by_k_expected_samples,
    ahead_by_k_samples_variance,
    ahead_by_k_step_success,
)

MAX_AHEAD = 12


class AheadByK(OperatorSpec):
    operator = Operator.AHEAD_BY_K

    def missing(self, task: Task) -> str | None:
        return None if task.steps is not None else "needs the steps fact"

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        return (RoleSpec("worker", task.role_capability(self.operator, "worker"), votable=False),)

    def params(self, task: Task) -> tuple[ParamSpec, ...]:
        return (ParamSpec("ahead", 1, MAX_AHEAD),)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        k = params["ahead"]
        steps = shape.step_count
        step_in = shape.prompt + shape.step_tokens
        p = reliability("worker", step_in)
        samples = ahead_by_k_expected_samples(p, k)
        variance = 0 if arithmetic.symbolic else steps * ahead_by_k_samples_variance(float(p), k)
        calls = CallGroup(
            "worker",
            steps * samples,
            step_in,
            shape.step_output,
            stages=steps * samples,
            variance=variance,
        )
        return Schedule((calls,), ahead_by_k_step_success(p, k) ** steps)
