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

Equal distributions are one object per :class:`PlanParams` (:class:`_Distributions`): a
recorded trial of a 1,000-task plan names some 2,600 parameters over a few dozen distinct
distributions, and Optuna's in-memory storage deep-copies each trial it adds, copying a
shared object once (about half of recording such a plan, with building them anew).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
        self._distributions = _Distributions()

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

        shared = self._distributions
        return Plan(tuple(_walk(space, choose, shared) for space in self.spaces))

    def encode(self, plan: Plan) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
        """``plan``'s parameters and their distributions, for ``create_trial``/``enqueue_trial``.

        Tasks whose plan lies outside the space (a caller's plan) are left out.
        """
        params: dict[str, Any] = {}
        distributions: dict[str, BaseDistribution] = {}
        by_id = {tp.task_id: tp for tp in plan.tasks}
        for space in self.spaces:
            task_plan = by_id.get(space.task.id)
            encoded = None if task_plan is None else _encode(space, task_plan, self._distributions)
            if encoded is not None:
                params.update(encoded[0])
                distributions.update(encoded[1])
        return params, distributions


def _encode(
    space: TaskSpace, task_plan: TaskPlan, shared: _Distributions
) -> tuple[dict[str, Any], dict[str, BaseDistribution]] | None:
    """One task plan's parameters, or None when a value lies outside its distribution."""
    params: dict[str, Any] = {}
    distributions: dict[str, BaseDistribution] = {}
    roles = task_plan.role_map
    plan_params = task_plan.param_map

    def choose(name: str, distribution: BaseDistribution, meaning: Meaning) -> Any:
        value = _value(task_plan, meaning, roles, plan_params)
        if not _contains(distribution, value):
            raise _Outside
        params[name] = value
        distributions[name] = distribution
        return value

    try:
        _walk(space, choose, shared)
    except _Outside:
        return None
    return params, distributions


class _Outside(Exception):
    """A plan's value is not among a parameter's choices."""


class _Distributions:
    """One distribution object per distinct distribution (module docstring): Optuna never
    changes a distribution, and equal ones stand for the same parameter space."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], BaseDistribution] = {}

    def categorical(self, choices: Sequence[str]) -> CategoricalDistribution:
        """``CategoricalDistribution(choices)`` (the choices are strings: no ``1 == True``)."""
        key = ("categorical", *choices)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = CategoricalDistribution(tuple(choices))
        assert isinstance(found, CategoricalDistribution)
        return found

    def integer(self, low: int, high: int, *, step: int = 1, log: bool = False) -> IntDistribution:
        """``IntDistribution(low, high, step=step, log=log)``."""
        key = ("int", type(low), low, type(high), high, step, log)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = IntDistribution(low, high, log=log, step=step)
        assert isinstance(found, IntDistribution)
        return found


def _walk(space: TaskSpace, choose: Choose, shared: _Distributions) -> TaskPlan:
    """Walk one task's parameters in define-by-run order, building the task plan."""
    tid = space.task.id
    operators = tuple(str(op) for op in space.operators)
    operator = Operator(choose(f"{tid}.operator", shared.categorical(operators), ("operator",)))
    options = space.operators[operator]
    if operator is Operator.CASCADE:
        return _cascade(space, choose, shared)
    roles: list[RoleAssignment] = []
    chosen: dict[str, str] = {}
    for role in options.roles:
        models = options.models[role.name]
        name = f"{tid}.{operator}.{role.name}"
        if options.chunk is not None and role.name == "aggregator":
            models = options.chunk.aggregators_for(chosen["worker"])
            name = f"{name}[{chosen['worker']}]"
        model = choose(name, shared.categorical(models), ("model", role.name))
        chosen[role.name] = model
        votes = 1
        if len(options.votes[role.name]) > 1:
            votes = choose(f"{name}.votes", shared.integer(1, 9, step=2), ("votes", role.name))
        roles.append(RoleAssignment(role.name, model, votes))
    params: dict[str, int] = {}
    for param in options.params:
        distribution = shared.integer(param.low, param.high, log=param.log)
        params[param.name] = choose(
            f"{tid}.{operator}.{param.name}", distribution, ("param", param.name)
        )
    if options.chunk is not None:
        span = options.chunk.size_span(chosen["worker"], chosen.get("aggregator"))
        assert span is not None
        distribution = shared.integer(span[0], span[1], log=True)
        params["chunk"] = choose(f"{tid}.{operator}.chunk", distribution, ("param", "chunk"))
    return TaskPlan(tid, operator, tuple(roles), tuple(sorted(params.items())))


def _cascade(space: TaskSpace, choose: Choose, shared: _Distributions) -> TaskPlan:
    """A CASCADE plan: one categorical over the scored stage sequences (``a>b>c``), so
    that every choice is a feasible cascade of distinct models."""
    tid = space.task.id
    plans = {_stages(c.plan): c.plan for c in space.by_operator[Operator.CASCADE]}
    label = choose(f"{tid}.CASCADE.stages", shared.categorical(tuple(plans)), ("cascade",))
    return plans[label]


def _stages(task_plan: TaskPlan) -> str:
    return ">".join(r.model for r in task_plan.roles)


def _value(
    task_plan: TaskPlan,
    meaning: Meaning,
    roles: Mapping[str, RoleAssignment],
    params: Mapping[str, int],
) -> Any:
    """The plan's value of the parameter ``meaning`` (``roles``, ``params``: its maps)."""
    kind = meaning[0]
    if kind == "cascade":
        return _stages(task_plan) if task_plan.operator is Operator.CASCADE else None
    if kind == "operator":
        return str(task_plan.operator)
    if kind == "param":
        return params.get(meaning[1])
    assignment = roles.get(meaning[1])
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
