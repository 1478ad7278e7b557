"""CASCADE: models tried in order until one accepts its own answer (FrugalGPT, 2023).

Stage ``j`` (role ``stage<j>``) reads the whole input and writes the answer; its model's
confidence passes its threshold on a share ``a_j`` of the inputs (the *accept rate*), and
then the answer is right with the *accepted accuracy* ``q_j``; otherwise the next stage
runs. The last stage accepts whatever reaches it (``a_last = 1``) and is right with the
model's reliability. With ``r_j = ∏_{i<j}(1 − a_i)`` the chance stage ``j`` runs:

* expected cost ``Σ_j c_j·r_j`` (``c₁ + Σ_{i≥2} c_i ∏_{j<i}(1 − a_j)``),
* success ``Σ_j q_j·a_j·r_j``,

the accounting of FrugalGPT's ``predict_one`` (stop at the first accepted answer, pay for
every stage queried). Acceptances at different stages are taken as independent (the rates
are each model's share over all inputs). The search chooses the models, their order and
the cut-off: param ``stages`` (2 to the task's ``cascade.max_stages``) says how many
stage roles a plan assigns; a one-stage cascade is DIRECT.

Where a stage's rates come from (:func:`stage_rates`): the task's ``cascade.rates`` for the
model, else the model's ``cascade`` entry for the capability. A model with neither can
only be the last stage; an accepted accuracy left out is the model's reliability.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from aalps.cost_models.arithmetic import UNWORKED, Arithmetic, Value
from aalps.cost_models.domain import CascadeRates, Model, Operator, Task, TaskPlan
from aalps.cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    ParamSpec,
    RatedReliability,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
    chain_decisions,
)

__all__ = [
    "MAX_STAGES",
    "Cascade",
    "cascade_problems",
    "rated_reliability",
    "stage_name",
    "stage_rates",
]

#: The most stages a cascade may have (the wire's ``cascade.max_stages`` is at most this).
MAX_STAGES = 4


def stage_name(j: int) -> str:
    """The role of the ``j``-th stage (1-based)."""
    return f"stage{j}"


def stage_rates(task: Task, model: Model, capability: str) -> CascadeRates | None:
    """``model``'s rates as a stage of ``task``: the task's override, else the catalog's."""
    if task.cascade is not None:
        override = task.cascade.rates.get(model.name)
        if override is not None:
            return override
    return model.cascade.get(capability)


def rated_reliability(
    task: Task,
    models: Mapping[str, Model],
    capability: Mapping[str, str],
    reliability: Reliability,
    arithmetic: Arithmetic,
) -> RatedReliability:
    """``reliability`` with the rates of the stage models ``models`` (role -> model).

    A stage without rates accepts nothing (only the last stage may be such a model, and
    the schedule never asks it; plan checks reject it elsewhere).
    """
    table = {
        role: _numbers(stage_rates(task, model, capability[role]), arithmetic)
        for role, model in models.items()
    }
    return RatedReliability(reliability, table.__getitem__)


@lru_cache(maxsize=4096)
def _numbers(rates: CascadeRates | None, arithmetic: Arithmetic) -> tuple[Value, Value | None]:
    """Rates in ``arithmetic`` (converted once: sympy's float conversion is slow)."""
    if rates is None:
        return arithmetic.number(0), None
    accuracy = rates.accepted_accuracy
    return (
        arithmetic.number(rates.accept_rate),
        None if accuracy is None else arithmetic.number(accuracy),
    )


def cascade_problems(task: Task, task_plan: TaskPlan, models: Mapping[str, Model]) -> list[str]:
    """Why a CASCADE plan's stages cannot run as given (repeated model, no rates), or none.

    ``models``: the catalog by name (unknown names are reported elsewhere).
    """
    count = task_plan.param_map.get("stages", 0)
    names = [
        task_plan.role_map[stage_name(j)].model
        for j in range(1, count + 1)
        if stage_name(j) in task_plan.role_map
    ]
    problems = []
    if len(set(names)) != len(names):
        problems.append("a cascade's stages need distinct models")
    capability = task.role_capability(Operator.CASCADE, "stage")
    for j, name in enumerate(names[:-1], start=1):
        model = models.get(name)
        if model is not None and stage_rates(task, model, capability) is None:
            problems.append(
                f"model {name} has no cascade rates for {capability}: it can only be the "
                f"last stage (stage{j} of {count})"
            )
    return problems


class Cascade(OperatorSpec):
    operator = Operator.CASCADE

    def rated(
        self,
        task: Task,
        models: Mapping[str, Model],
        capability: Mapping[str, str],
        reliability: Reliability,
        arithmetic: Arithmetic,
    ) -> Reliability:
        return rated_reliability(task, models, capability, reliability, arithmetic)

    def missing(self, task: Task) -> str | None:
        return None if task.cascade is not None else "needs the cascade fact"

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        assert task.cascade is not None
        capability = task.role_capability(self.operator, "stage")
        return tuple(
            RoleSpec(stage_name(j), capability, votable=False)
            for j in range(1, task.cascade.max_stages + 1)
        )

    def plan_roles(self, task: Task, params: Mapping[str, int]) -> tuple[RoleSpec, ...]:
        """The first ``stages`` stage roles: the ones a plan with ``params`` assigns."""
        return self.roles(task)[: params.get("stages", 0)]

    def params(self, task: Task) -> tuple[ParamSpec, ...]:
        assert task.cascade is not None
        return (ParamSpec("stages", 2, task.cascade.max_stages),)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        if not isinstance(reliability, RatedReliability):
            raise TypeError("CASCADE's schedule needs the stages' rates (a RatedReliability)")
        work_in = shape.prompt + shape.whole_input
        decisions = chain_decisions(shape, 1)  # each stage writes the whole answer
        count = params["stages"]
        reach: Value = 1
        success: Value = 0
        groups = []
        for j in range(1, count + 1):
            role = stage_name(j)
            groups.append(CallGroup(role, reach, work_in, shape.output, stages=reach, nested=True))
            if j == count:
                accept: Value = 1
                given: Value | None = None
            else:
                accept, given = reliability.rates(role)
            if arithmetic.success:
                accuracy = given if given is not None else reliability(role, work_in, decisions)
                success = success + reach * accept * accuracy
            reach = reach * (1 - accept)
        # The groups read the accept rates alone: without ``arithmetic.success``
        # (:data:`~.arithmetic.SYMBOLIC_COST`) no accuracy is asked, the success is unworked.
        return Schedule(tuple(groups), success if arithmetic.success else UNWORKED)
