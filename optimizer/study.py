"""The Optuna study every optimization with a caller's storage records into, exact or not.

Searches that Optuna drives add their own trials. Exact paths (enumeration, branch and
bound) add theirs by hand with :func:`record`: the optimum (or the Pareto front) and the
baseline, with their objective values, constraint values and figures as user attributes,
so a dashboard over the service's storage shows something meaningful for every job.

Objective values: ``log`` of the expected cost (a plan of ``2^k`` calls at large ``k``
does not overflow), the latency, and the failure probability; constraint values are
``log(figure / limit)`` (feasible when ``<= 0``, Optuna's convention).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from aalps.cost_models.domain import Constraints, Objective, OptimizeRequest, Plan, SearchObjective
from aalps.cost_models.ensemble_roles import role_text
from aalps.cost_models.evaluation import PlanOutcome
from aalps.optimizer.plan_params import PlanParams

__all__ = [
    "constraint_values",
    "create_study",
    "describe",
    "figures",
    "label_study",
    "metric_names",
    "objective_values",
    "record",
]

#: The name of each objective value a trial reports (see :func:`objective_values`).
_METRICS = {
    Objective.COST: "log expected cost",
    Objective.LATENCY: "latency",
    Objective.FAILURE_PROBABILITY: "failure probability",
}


def create_study(
    *,
    objectives: Sequence[Objective],
    storage: str | optuna.storages.BaseStorage | None,
    study_name: str | None,
    sampler: optuna.samplers.BaseSampler | None = None,
) -> optuna.Study:
    """An in-memory study by default; the caller's storage and name when given.

    An existing study of that name is continued (a job resumed after a restart). Without
    ``sampler`` the study gets an unseeded :class:`optuna.samplers.RandomSampler` that
    samples nothing: a search that runs trials sets its own seeded sampler first
    (``JointSearch._search``). Recording trials (``record``, ``add_trial``,
    ``enqueue_trial``) asks no sampler, and making Optuna's seeded ones imports
    ``numpy.random`` (about 5 ms of a process's first request, which an exact method
    solves without them).
    """
    return optuna.create_study(
        storage=storage,
        study_name=study_name,
        sampler=sampler if sampler is not None else optuna.samplers.RandomSampler(),
        directions=["minimize"] * max(1, len(objectives)),
        load_if_exists=study_name is not None,
    )


def metric_names(request: OptimizeRequest) -> list[str]:
    """The names of the values a trial of ``request``'s search reports, in order."""
    objectives = request.search.objectives
    if objectives:
        return [_METRICS[o] for o in objectives]
    ratio = request.search.objective is SearchObjective.COST_OF_PASS
    return ["log cost of a correct result" if ratio else "log expected cost"]


def label_study(study: optuna.Study, request: OptimizeRequest, **attrs: str) -> None:
    """Name the study's values and say what it searched, for optuna-dashboard.

    Sets ``study.set_metric_names`` and the user attributes ``graph`` (the graph's name),
    ``objectives`` (the metric names) and ``attrs`` (e.g. ``job_id``).
    """
    names = metric_names(request)
    with warnings.catch_warnings():  # experimental in Optuna (since 3.2), and what we want
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(names)
    study.set_user_attr("graph", request.graph.name)
    study.set_user_attr("objectives", names)
    for key, value in attrs.items():
        study.set_user_attr(key, value)


def objective_values(
    outcome: PlanOutcome, objectives: Sequence[Objective], *, ratio: bool = False
) -> list[float]:
    """The values a trial reports: one per requested objective, else the log of the cost
    (of a correct result, with ``ratio``: expected cost / success probability)."""
    if not objectives:
        return [outcome.log_cost_of_pass if ratio else outcome.log_cost]
    values = []
    for objective in objectives:
        if objective is Objective.COST:
            values.append(outcome.log_cost)
        elif objective is Objective.LATENCY:
            values.append(outcome.latency)
        else:
            values.append(1.0 - outcome.success_probability)
    return values


def constraint_values(outcome: PlanOutcome, constraints: Constraints) -> dict[str, float]:
    """``log(figure / limit)`` per set constraint: ``<= 0`` when it is met."""
    values: dict[str, float] = {}
    if constraints.min_success_probability is not None:
        values["min_success_probability"] = _log_ratio(
            constraints.min_success_probability, outcome.success_probability
        )
    if constraints.max_cost is not None:
        values["max_cost"] = outcome.log_cost - math.log(constraints.max_cost)
    if constraints.max_latency is not None:
        values["max_latency"] = _log_ratio(outcome.latency, constraints.max_latency)
    return values


def figures(outcome: PlanOutcome) -> dict[str, Any]:
    """The user attributes every recorded trial carries."""
    return {
        "expected_cost": outcome.expected_cost,
        "success_probability": outcome.success_probability,
        "latency": outcome.latency,
    }


def describe(plan: Plan) -> str:
    """A one-line summary of a plan, e.g. ``debug: SCAN_AND_FIX(detector=qa, fixer=dev)``."""
    parts = []
    for tp in plan.tasks:
        roles = ", ".join(f"{r.role}={role_text(r)}" for r in tp.roles)
        params = "".join(f", {k}={v}" for k, v in tp.params)
        parts.append(f"{tp.task_id}: {tp.operator}({roles}{params})")
    return "; ".join(parts)


def record(
    study: optuna.Study,
    params: PlanParams,
    plan: Plan,
    outcome: PlanOutcome,
    *,
    objectives: Sequence[Objective],
    constraints: Constraints,
    kind: str,
    extra: Mapping[str, Any] | None = None,
    ratio: bool = False,
) -> None:
    """Add ``plan`` to ``study`` as a finished trial (``kind``: optimum, baseline, front…)."""
    values, distributions = params.encode(plan)
    attrs = {"kind": kind, "plan": describe(plan), **figures(outcome), **(extra or {})}
    trial = optuna.trial.create_trial(
        params=values,
        distributions=distributions,
        values=objective_values(outcome, objectives, ratio=ratio),
        user_attrs=attrs,
        constraints=constraint_values(outcome, constraints) or None,
    )
    study.add_trial(trial)


def _log_ratio(numerator: float, denominator: float) -> float:
    if numerator <= 0:
        return -math.inf if denominator > 0 else 0.0
    if denominator <= 0:
        return math.inf
    return math.log(numerator / denominator)
