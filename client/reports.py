"""The reports of a search or an analysis: frozen records built from their wire messages.

Each record is built from its wire message by one function (``*_from_proto``), whether the
message came from a server or from the in-process backend, so a report looks the same over
either transport. Reports keep the message they were built from (``.message``) and give its
JSON form (``.to_dict()``, proto field names), which is what ``--format json`` prints.
This module imports nothing of the client's errors, so that the errors can carry a report
(a search stopped by a server limit keeps its best plan).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.protobuf.message import Message

__all__ = [
    "AnalysisReport",
    "CrossoverReport",
    "OptimizeReport",
    "PlanReport",
    "RoleReport",
    "SearchStatsReport",
    "SeparationReport",
    "StabilityReport",
    "TaskReport",
    "analysis_report_from_proto",
    "crossover_from_proto",
    "optimize_report_from_proto",
    "plan_from_proto",
    "separation_from_proto",
    "stability_from_proto",
    "task_from_proto",
    "to_dict",
]


class RoleReport(NamedTuple):
    """A model filling one role; ``votes`` > 1 is VOTE(r); ``ensemble``: the (model, votes)
    shares of the models that vote together (``model`` is then the first, ``votes`` the total)."""

    role: str
    model: str
    votes: int
    ensemble: tuple[tuple[str, int], ...] = ()

    @property
    def models_text(self) -> str:
        """``model``, ``model x3``, or an ensemble's ``a x2 + b``."""
        shares = self.ensemble or ((self.model, self.votes),)
        return " + ".join(m + (f" x{v}" if v > 1 else "") for m, v in shares)


class SeparationReport(NamedTuple):
    """Θ(baseline / plan) for the whole plan (``role`` empty) or one model-size symbol."""

    role: str
    text: str
    latex: str


@dataclass(frozen=True)
class TaskReport:
    """How one task is done, with its symbolic cost and its figures at the scale point."""

    task_id: str
    operator: str
    roles: tuple[RoleReport, ...]
    params: Mapping[str, int] = field(hash=False)
    cost: str
    expected_cost: float
    success_probability: float
    latency: float


@dataclass(frozen=True)
class PlanReport:
    """A whole plan: its tasks, totals and Θ bound (text and LaTeX)."""

    tasks: tuple[TaskReport, ...]
    cost: str
    expected_cost: float
    success_probability: float
    latency: float
    cost_p95: float
    bound_text: str
    bound_latex: str
    cost_of_pass: float = 0.0
    cost_p95_approximate: bool = False


@dataclass(frozen=True)
class CrossoverReport:
    """Another plan that wins beyond scale ×``scale`` along the scale ray (``values``: every
    growing parameter there; ``parameter`` ≈ ``at`` is the first of them)."""

    plan: PlanReport
    parameter: str
    at: float
    text: str
    scale: float = 0.0
    values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StabilityReport:
    """The factors ``[low, high]`` on one model figure (``field``; ``capability`` for a
    reliability) over which the plan stays optimal, and the task plans (choices only) that
    take over below and above; ``conditional``: over single-task changes only."""

    model: str
    field: str
    capability: str
    low: float
    high: float
    below: tuple[TaskReport, ...]
    above: tuple[TaskReport, ...]
    conditional: bool


@dataclass(frozen=True)
class SearchStatsReport:
    """How the search went; ``exhaustive`` means the plan is provably optimal.

    ``trials`` are the trials the search evaluated out of ``n_trials`` asked;
    ``stop_reason`` says why they are fewer (empty when all ran).
    """

    trials: int
    exhaustive: bool
    seconds: float
    candidates: int
    n_trials: int = 0
    stop_reason: str = ""


def to_dict(message: Message) -> dict[str, Any]:
    """The JSON users see, from the one converter module (imported when first needed)."""
    from aalps.proto.convert import message_to_dict

    return message_to_dict(message)


@dataclass(frozen=True)
class OptimizeReport:
    """The result of an optimization: best plan, baseline, separation, crossovers, stats."""

    plan: PlanReport
    baseline: PlanReport
    separation: tuple[SeparationReport, ...]
    pareto_front: tuple[PlanReport, ...]
    crossovers: tuple[CrossoverReport, ...]
    stats: SearchStatsReport
    message: pb.OptimizeResponse = field(repr=False, compare=False)
    asymptotic_plan: PlanReport | None = None
    stability: tuple[StabilityReport, ...] = ()
    setup: str = ""  # the setups' break-even in words (empty: no setup in the catalog)
    break_even: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The response message's JSON form (proto field names)."""
        return to_dict(self.message)


@dataclass(frozen=True)
class AnalysisReport:
    """A caller-supplied plan costed against its baseline (no search)."""

    plan: PlanReport
    baseline: PlanReport
    separation: tuple[SeparationReport, ...]
    message: pb.AnalyzePlanResponse = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The response message's JSON form (proto field names)."""
        return to_dict(self.message)


def task_from_proto(message: pb.TaskPlan) -> TaskReport:
    return TaskReport(
        task_id=message.task_id,
        operator=pb.Operator.Name(message.operator),
        roles=tuple(
            RoleReport(r.role, r.model, r.votes, tuple((s.model, s.votes) for s in r.ensemble))
            for r in message.roles
        ),
        params=dict(sorted(message.params.items())),
        cost=message.cost,
        expected_cost=message.expected_cost,
        success_probability=message.success_probability,
        latency=message.latency,
    )


def plan_from_proto(message: pb.Plan) -> PlanReport:
    return PlanReport(
        tasks=tuple(task_from_proto(t) for t in message.tasks),
        cost=message.cost,
        expected_cost=message.expected_cost,
        success_probability=message.success_probability,
        latency=message.latency,
        cost_p95=message.cost_p95,
        bound_text=message.bound.text,
        bound_latex=message.bound.latex,
        cost_of_pass=message.cost_of_pass,
        cost_p95_approximate=message.cost_p95_approximate,
    )


def separation_from_proto(message: pb.Separation) -> SeparationReport:
    return SeparationReport(message.role, message.text, message.latex)


def crossover_from_proto(message: pb.Crossover) -> CrossoverReport:
    return CrossoverReport(
        plan=plan_from_proto(message.plan),
        parameter=message.parameter,
        at=message.at,
        text=message.text,
        scale=message.scale,
        values=dict(sorted(message.values.items())),
    )


def stability_from_proto(message: pb.StabilityRange) -> StabilityReport:
    return StabilityReport(
        model=message.model,
        field=message.field,
        capability=message.capability,
        low=message.low,
        high=message.high,
        below=tuple(task_from_proto(t) for t in message.below),
        above=tuple(task_from_proto(t) for t in message.above),
        conditional=message.conditional,
    )


def optimize_report_from_proto(message: pb.OptimizeResponse) -> OptimizeReport:
    return OptimizeReport(
        plan=plan_from_proto(message.plan),
        baseline=plan_from_proto(message.baseline),
        separation=tuple(separation_from_proto(s) for s in message.separation),
        pareto_front=tuple(plan_from_proto(p) for p in message.pareto_front),
        crossovers=tuple(crossover_from_proto(c) for c in message.crossovers),
        stats=SearchStatsReport(
            trials=message.stats.trials,
            exhaustive=message.stats.exhaustive,
            seconds=message.stats.seconds,
            candidates=message.stats.candidates,
            n_trials=message.stats.n_trials,
            stop_reason=message.stats.stop_reason,
        ),
        message=message,
        asymptotic_plan=(
            plan_from_proto(message.asymptotic_plan)
            if message.HasField("asymptotic_plan")
            else None
        ),
        stability=tuple(stability_from_proto(s) for s in message.stability),
        setup=message.setup.text if message.HasField("setup") else "",
        break_even=(
            message.setup.break_even_volume if message.setup.HasField("break_even_volume") else None
        ),
    )


def analysis_report_from_proto(message: pb.AnalyzePlanResponse) -> AnalysisReport:
    return AnalysisReport(
        plan=plan_from_proto(message.plan),
        baseline=plan_from_proto(message.baseline),
        separation=tuple(separation_from_proto(s) for s in message.separation),
        message=message,
    )
