"""A plan as Optuna parameters: the define-by-run space, suggested or written back.

Per task ``t``: ``t.operator`` (categorical); per role ``t.<OPERATOR>.<role>`` (the model,
categorical over the models whose window holds the role's calls) and
``t.<OPERATOR>.<role>.votes`` (1, 3, …, 9, only when success matters and the role may vote);
per parameter ``t.<OPERATOR>.<name>`` (integers; the chunk size on a log scale, within what
the chosen models' windows allow). A CHUNK_AGGREGATE aggregator is named after the worker
(``t.CHUNK_AGGREGATE.aggregator[<worker>]``) because which aggregators share a chunk size
with the worker depends on it; every name thus has one fixed set of choices, as Optuna
requires, and every suggested plan is feasible.

One walk over the space serves both directions (:meth:`PlanParams.suggest` for a trial,
:meth:`PlanParams.encode` for recording a known plan), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import optuna
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.optimizer.space import TaskSpace
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

__all__ = ["Choose", "Meaning", "PlanParams"]

#: What a parameter stands for: ("operator",), ("model", role), ("votes", role), ("param", name),
#: ("cascade",) (a CASCADE's stage models, in order).
Meaning = tuple[str, ...]
Choose = Callable[[str, BaseDistribution, Meaning], Any]


class PlanParams:
    """The define-by-run parameters of the plans over ``spaces``."""

    def __init__(self, spaces: Sequence[TaskSpace]) -> None:
        self.spaces = list(spaces)

    def suggest(self, trial: optuna.trial.BaseTrial) -> Plan:
        """Ask ``trial`` for a plan (every answer is a feasible plan)."""

        def choose(name: str, distribution: BaseDistribution, meaning: Meaning) -> Any:
            if isinstance(distribution, CategoricalDistribution):
                return trial.suggest_categorical(name, distribution.choices)
            assert isinstance(distribution, IntDistribution)
            return trial.suggest_int(
                name,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )

        return Plan(tuple(_walk(space, choose) for space in self.spaces))

    def encode(self, plan: Plan) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
        """``plan``'s parameters and their distributions, for ``create_trial``/``enqueue_trial``.

        Tasks whose plan lies outside the space (a caller's plan) are left out.
        """
        params: dict[str, Any] = {}
        distributions: dict[str, BaseDistribution] = {}
        by_id = {tp.task_id: tp for tp in plan.tasks}
        for space in self.spaces:
            task_plan = by_id.get(space.task.id)
            encoded = None if task_plan is None else _encode(space, task_plan)
            if encoded is not None:
                params.update(encoded[0])
                distributions.update(encoded[1])
        return params, distributions


def _encode(
    space: TaskSpace, task_plan: TaskPlan
) -> tuple[dict[str, Any], dict[str, BaseDistribution]] | None:
    """One task plan's parameters, or None when a value lies outside its distribution."""
    params: dict[str, Any] = {}
    distributions: dict[str, BaseDistribution] = {}

    def choose(name: str, distribution: BaseDistribution, meaning: Meaning) -> Any:
        value = _value(task_plan, meaning)
        if not _contains(distribution, value):
            raise _Outside
        params[name] = value
        distributions[name] = distribution
        return value

    try:
        _walk(space, choose)
    except _Outside:
        return None
    return params, distributions


class _Outside(Exception):
    """A plan's value is not among a parameter's choices."""


def _walk(space: TaskSpace, choose: Choose) -> TaskPlan:
    """Walk one task's parameters in define-by-run order, building the task plan."""
    tid = space.task.id
    operators = tuple(str(op) for op in space.operators)
    operator = Operator(
        choose(f"{tid}.operator", CategoricalDistribution(operators), ("operator",))
    )
    options = space.operators[operator]
    if operator is Operator.CASCADE:
        return _cascade(space, choose)
    roles: list[RoleAssignment] = []
    chosen: dict[str, str] = {}
    for role in options.roles:
        models = options.models[role.name]
        name = f"{tid}.{operator}.{role.name}"
        if options.chunk is not None and role.name == "aggregator":
            models = options.chunk.aggregators_for(chosen["worker"])
            name = f"{name}[{chosen['worker']}]"
        model = choose(name, CategoricalDistribution(models), ("model", role.name))
        chosen[role.name] = model
        votes = 1
        if len(options.votes[role.name]) > 1:
            votes = choose(f"{name}.votes", IntDistribution(1, 9, step=2), ("votes", role.name))
        roles.append(RoleAssignment(role.name, model, votes))
    params: dict[str, int] = {}
    for param in options.params:
        distribution = IntDistribution(param.low, param.high, log=param.log)
        params[param.name] = choose(
            f"{tid}.{operator}.{param.name}", distribution, ("param", param.name)
        )
    if options.chunk is not None:
        span = options.chunk.size_span(chosen["worker"], chosen.get("aggregator"))
        assert span is not None
        distribution = IntDistribution(span[0], span[1], log=True)
        params["chunk"] = choose(f"{tid}.{operator}.chunk", distribution, ("param", "chunk"))
    return TaskPlan(tid, operator, tuple(roles), tuple(sorted(params.items())))


def _cascade(space: TaskSpace, choose: Choose) -> TaskPlan:
    """A CASCADE plan: one categorical over the scored stage sequences (``a>b>c``), so
    that every choice is a feasible cascade of distinct models."""
    tid = space.task.id
    plans = {_stages(c.plan): c.plan for c in space.by_operator[Operator.CASCADE]}
    label = choose(f"{tid}.CASCADE.stages", CategoricalDistribution(tuple(plans)), ("cascade",))
    return plans[label]


def _stages(task_plan: TaskPlan) -> str:
    return ">".join(r.model for r in task_plan.roles)


def _value(task_plan: TaskPlan, meaning: Meaning) -> Any:
    kind = meaning[0]
    if kind == "cascade":
        return _stages(task_plan) if task_plan.operator is Operator.CASCADE else None
    if kind == "operator":
        return str(task_plan.operator)
    if kind == "param":
        return task_plan.param_map.get(meaning[1])
    assignment = task_plan.role_map.get(meaning[1])
    if assignment is None:
        return None
    return assignment.model if kind == "model" else assignment.votes


def _contains(distribution: BaseDistribution, value: Any) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    if isinstance(distribution, IntDistribution) and isinstance(value, int):
        return (
            distribution.low <= value <= distribution.high
            and (value - distribution.low) % distribution.step == 0
        )
    return False
