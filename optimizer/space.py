"""The search space's records: per task, every feasible task plan worth comparing.

A :class:`TaskSpace` holds, per operator that applies to its task, the feasible choices
(:class:`OperatorOptions`: the models whose context window holds each role's calls, the
vote counts, the parameters, and for CHUNK_AGGREGATE the chunk counts each window allows)
and the scored task plans that survive the Pareto filter of :class:`Metrics`, per operator
and across operators. :mod:`aalps.optimizer.enumeration` builds them; the exact searches read the
candidates and :mod:`aalps.optimizer.plan_params` turns the options into Optuna parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aalps.cost_models.domain import (
    Model,
    Objective,
    Operator,
    OptimizeRequest,
    RoleAssignment,
    SearchObjective,
    Task,
    TaskPlan,
    VoteShare,
)
from aalps.cost_models.errors import FieldViolation
from aalps.cost_models.evaluation import TaskOutcome
from aalps.cost_models.operators import ParamSpec, RoleSpec
from aalps.optimizer.chunking import ChunkCounts

__all__ = [
    "Candidate",
    "candidate",
    "ChunkWindows",
    "Metrics",
    "OperatorOptions",
    "Option",
    "TaskSpace",
    "feasible_in_order",
    "task_plan",
    "widest",
    "window_of",
]

#: (model name, votes) for one role, or an ensemble's (first model, total votes, shares).
Option = tuple[str, int] | tuple[str, int, tuple[VoteShare, ...]]


@dataclass(frozen=True)
class Metrics:
    """Which task figures a search compares besides expected cost.

    ``success`` and ``latency`` matter when a constraint or an objective names them (the
    cost of a correct result divides by the success probability, so it makes ``success``
    matter); ``far`` adds the figures at the far point of the scale ray
    (:data:`~aalps.optimizer.ray.FAR_SCALE`): the asymptotic optimum and the tie-break need them,
    and a choice that is dearer at the scale point but cheaper far away must survive.
    """

    success: bool = False
    latency: bool = False
    far: bool = False
    ratio: bool = False

    @classmethod
    def of(cls, request: OptimizeRequest, *, far: bool = False) -> Metrics:
        constraints = request.constraints
        objectives = set(request.search.objectives)
        ratio = not objectives and request.search.objective is SearchObjective.COST_OF_PASS
        return cls(
            success=ratio
            or constraints.min_success_probability is not None
            or Objective.FAILURE_PROBABILITY in objectives,
            latency=constraints.max_latency is not None or Objective.LATENCY in objectives,
            far=far,
            ratio=ratio,
        )

    def key(self, candidate: Candidate) -> tuple[float, ...]:
        """The figures to minimize: log cost, then −log success and latency when they
        matter, then the far point's log cost (and −log success for the ratio)."""
        # Tuples joined, not a list grown: the enumeration keys every candidate it scores.
        outcome = candidate.outcome
        if self.success:
            figures: tuple[float, ...] = (outcome.log_cost, -outcome.log_success)
        else:
            figures = (outcome.log_cost,)
        if self.latency:
            figures += (outcome.latency,)
        far = candidate.far
        if self.far and far is not None:
            figures += (far.log_cost, -far.log_success) if self.ratio else (far.log_cost,)
        return figures


@dataclass(frozen=True)
class Candidate:
    """One task plan, its figures at the scale point and far along the ray (the far ones
    only when the plan's calls fit their models' windows at the scale point)."""

    plan: TaskPlan
    outcome: TaskOutcome
    far: TaskOutcome | None = None


_new = object.__new__


def candidate(plan: TaskPlan, outcome: TaskOutcome, far: TaskOutcome | None = None) -> Candidate:
    """``Candidate(plan, outcome, far)`` without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field): the same record, its fields stored in the
    instance's dict by name, in their order. The enumeration builds one per plan scored."""
    made: Candidate = _new(Candidate)
    state = made.__dict__
    state["plan"] = plan
    state["outcome"] = outcome
    state["far"] = far
    return made


def task_plan(
    task_id: str,
    operator: Operator,
    roles: tuple[RoleAssignment, ...],
    params: tuple[tuple[str, int], ...],
) -> TaskPlan:
    """``TaskPlan(task_id, operator, roles, params)`` without the frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field): the same record, its fields stored
    in the instance's dict by name, in their order. The enumeration makes one per choice."""
    made: TaskPlan = _new(TaskPlan)
    state = made.__dict__
    state["task_id"] = task_id
    state["operator"] = operator
    state["roles"] = roles
    state["params"] = params
    return made


@dataclass(frozen=True)
class ChunkWindows:
    """Which chunk counts each model's context window allows, for one chunked task.

    Counts are kept as index intervals into :attr:`counts`; the operator's parameter
    range (``size_low..size_high``) is already applied.
    """

    counts: ChunkCounts
    size_low: int
    size_high: int
    worker_from: Mapping[str, int]  # worker model -> first feasible count index
    aggregator_span: Mapping[str, tuple[int, int]]  # aggregator model -> index interval
    last: int  # last index allowed by the parameter range

    def span(self, worker: str, aggregator: str | None) -> tuple[int, int] | None:
        """The count indices a (worker, aggregator) pair can use, or None."""
        lo, hi = self.worker_from[worker], self.last
        if aggregator is not None:
            a_lo, a_hi = self.aggregator_span[aggregator]
            lo, hi = max(lo, a_lo), min(hi, a_hi)
        return (lo, hi) if lo <= hi else None

    def size_span(self, worker: str, aggregator: str | None) -> tuple[int, int] | None:
        """The chunk sizes a pair can use: every size in it gives a count in :meth:`span`."""
        span = self.span(worker, aggregator)
        if span is None:
            return None
        return self.size_for(self.counts[span[1]]), self.size_for(self.counts[span[0]])

    def size_for(self, count: int) -> int:
        return self.counts.size_for(count, self.size_low, self.size_high)

    def aggregators_for(self, worker: str) -> tuple[str, ...]:
        return tuple(a for a in self.aggregator_span if self.span(worker, a) is not None)


@dataclass(frozen=True)
class OperatorOptions:
    """The feasible choices of one operator on one task: the define-by-run space's leaves."""

    operator: Operator
    roles: tuple[RoleSpec, ...]
    models: Mapping[str, tuple[str, ...]]  # role -> models whose window holds its calls
    votes: Mapping[str, tuple[int, ...]]  # role -> vote counts tried
    params: tuple[ParamSpec, ...]  # integer parameters other than the chunk size
    chunk: ChunkWindows | None = None


@dataclass
class TaskSpace:
    """One task's feasible choices: per operator, and filtered across operators."""

    index: int
    task: Task
    operators: dict[Operator, OperatorOptions] = field(default_factory=dict)
    by_operator: dict[Operator, tuple[Candidate, ...]] = field(default_factory=dict)
    problems: dict[Operator, str] = field(default_factory=dict)
    candidates: tuple[Candidate, ...] = ()
    exact: bool = True
    scored: int = 0

    def problem(self) -> FieldViolation:
        """Why the task has no feasible plan: the reasons of every operator, grouped."""
        groups: dict[str, list[str]] = {}
        for operator, reason in self.problems.items():
            groups.setdefault(reason, []).append(str(operator))
        if len(groups) == 1:
            text = next(iter(groups))
        else:
            text = "; ".join(f"{reason} ({', '.join(ops)})" for reason, ops in groups.items())
        return FieldViolation(f"graph.tasks[{self.index}]", f"{self.task.id}: {text}")


def window_of(model: Model) -> float:
    """A model's context window in tokens (unlimited is infinite)."""
    return model.context_window if model.context_window > 0 else math.inf


def widest(models: Sequence[Model]) -> Model:
    """The model with the widest context window (the first of equals)."""
    return max(models, key=window_of)


def feasible_in_order(
    models: Mapping[str, Sequence[Model]], feasible: Mapping[str, set[str]]
) -> dict[str, tuple[str, ...]]:
    """Per role of ``feasible``, the models found feasible, in the order of ``models``."""
    return {
        name: tuple(m.name for m in models[name] if m.name in feasible[name]) for name in feasible
    }
