"""Reading a caller-supplied plan (AnalyzePlan's ``plan``, a caller's ``baseline``).

The plan's shape is read here (fields, numbers, an ensemble's shares); whether its choices
fit the request (tasks, models, votes, parameters) is checked by
:mod:`aalps.cost_models.plan_checks`.
"""

from __future__ import annotations

from typing import Any

from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.ensemble_roles import ensemble_role
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import read_enum, read_list, read_mapping, read_number
from aalps.cost_models.loading import MAX_TASKS

__all__ = ["load_plan"]


def load_plan(data: Any, field: str = "plan") -> Plan:
    """A caller-supplied plan (``tasks[]: {task_id, operator, roles[], params}``)."""
    errors = Violations()
    root = read_mapping(data, field, errors)
    tasks = []
    for i, item in enumerate(read_list(root.get("tasks"), f"{field}.tasks", errors, MAX_TASKS)):
        where = f"{field}.tasks[{i}]"
        raw = read_mapping(item, where, errors)
        operator = read_enum(Operator, raw.get("operator"), f"{where}.operator", errors, None)
        if operator is None:
            errors.add(f"{where}.operator", "is required")
            continue
        roles = []
        for j, role in enumerate(read_list(raw.get("roles"), f"{where}.roles", errors, 10)):
            r = read_mapping(role, f"{where}.roles[{j}]", errors)
            votes = read_number(
                r.get("votes"), f"{where}.roles[{j}].votes", errors, low=0, default=1
            )
            shares = _vote_shares(r.get("ensemble"), f"{where}.roles[{j}].ensemble", errors)
            if shares:
                roles.append(ensemble_role(str(r.get("role", "")), shares))
                continue
            roles.append(
                RoleAssignment(str(r.get("role", "")), str(r.get("model", "")), int(votes or 1))
            )
        params = []
        for name, value in read_mapping(raw.get("params"), f"{where}.params", errors).items():
            number = read_number(value, f"{where}.params.{name}", errors, low=1)
            if number is not None:
                params.append((str(name), int(number)))
        tasks.append(
            TaskPlan(str(raw.get("task_id", "")), operator, tuple(roles), tuple(sorted(params)))
        )
    errors.raise_if_any()
    return Plan(tuple(tasks))


def _vote_shares(data: Any, field: str, errors: Violations) -> list[tuple[str, int]]:
    """An ensemble's (model, votes) shares; checked against the catalog by plan_checks."""
    shares = []
    for k, item in enumerate(read_list(data, field, errors, 9)):
        share = read_mapping(item, f"{field}[{k}]", errors)
        votes = read_number(share.get("votes"), f"{field}[{k}].votes", errors, low=1, default=1)
        shares.append((str(share.get("model", "")), int(votes or 1)))
    return shares
