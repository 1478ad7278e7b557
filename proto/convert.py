"""The one converter between the wire types of ``aalps.v1`` and the domain records.

Hand-written, beside the generated code (``aalps.proto.aalps.v1``), as OSS Vizier keeps its
``proto_converters`` beside the domain types. Requests travel as dicts with the proto field
names (the shape ``MessageToDict`` gives them), which is also the schema of request files,
so the domain loader validates wire and file input alike; a wire request is read through a
:class:`~aalps.proto.message_view.MessageView`, not copied into a dict first. Results go
the other way, from the optimizer's records to ``OptimizeResponse``. The server and the
client use the same functions, so ``--format json`` is the response message whatever the
transport. Jobs are the service's
records: their conversion lives with the service (:mod:`aalps.server.job_messages`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from aalps.cost_models.bounds import Bound, Separation
from aalps.cost_models.domain import OptimizeRequest, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.errors import FieldViolation, InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluation
from aalps.cost_models.loading import MAX_MODELS, MAX_TASKS, load_request
from aalps.cost_models.plan_loading import load_plan
from aalps.optimizer import AnalysisResult, Crossover, OptimizeResult, SearchStats
from aalps.optimizer.stability import StabilityRange
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.dict_check import check_dict
from aalps.proto.message_view import MessageView
from aalps.proto.printing import expression_text, text_and_latex
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

__all__ = [
    "analysis_to_proto",
    "batch_requests",
    "bound_to_proto",
    "check_request_caps",
    "crossover_to_proto",
    "dict_to_proto",
    "expression_text",
    "message_to_dict",
    "message_to_json",
    "plan_from_proto",
    "plan_to_proto",
    "request_from_proto",
    "result_to_proto",
    "separation_to_proto",
    "stability_to_proto",
    "stats_from_proto",
    "stats_to_proto",
    "role_to_proto",
    "task_plan_to_proto",
    "wire_json_dict",
]


def request_from_proto(
    message: pb.OptimizeRequest,
    *,
    max_tasks: int = MAX_TASKS,
    max_models: int = MAX_MODELS,
    max_trials: int | None = None,
    field: str = "",
) -> OptimizeRequest:
    """Validate a wire request into the domain (every violation named by field path).

    Oversized lists are rejected on the message itself, before any conversion work, so a
    request with a million tasks costs the server nothing but the check.
    """
    check_request_caps(
        message, max_tasks=max_tasks, max_models=max_models, max_trials=max_trials, field=field
    )
    prefix = f"{field}." if field else ""
    try:
        return load_request(MessageView(message), max_tasks=max_tasks, max_models=max_models)
    except InvalidRequestError as error:
        if not prefix:
            raise
        raise InvalidRequestError(
            FieldViolation(prefix + v.field, v.description) for v in error.violations
        ) from None


def check_request_caps(
    message: pb.OptimizeRequest,
    *,
    max_tasks: int = MAX_TASKS,
    max_models: int = MAX_MODELS,
    max_trials: int | None = None,
    field: str = "",
) -> None:
    """Reject oversized lists on the message itself (no conversion: a few ``len`` calls).

    The server runs this before handing a request to a worker process, so a request with
    a million tasks is answered at once and never copied.
    """
    prefix = f"{field}." if field else ""
    caps = [
        (f"{prefix}graph.tasks", len(message.graph.tasks), max_tasks),
        (f"{prefix}catalog.models", len(message.catalog.models), max_models),
    ]
    if max_trials is not None:
        caps.append((f"{prefix}search.n_trials", message.search.n_trials, max_trials))
    too_big = [
        FieldViolation(name, f"has {size} entries; at most {cap} are accepted")
        if not name.endswith("n_trials")
        else FieldViolation(name, f"is {size}; at most {cap} are accepted")
        for name, size, cap in caps
        if size > cap
    ]
    if too_big:
        raise InvalidRequestError(too_big)


def batch_requests(message: pb.BatchOptimizeRequest) -> list[pb.OptimizeRequest]:
    """The requests of a batch, each with the batch's shared ``catalog`` when it has one.

    The shared catalog replaces each request's own (the request may have none); the caller's
    message is left as it is.
    """
    if not message.HasField("catalog"):
        return list(message.requests)
    requests = []
    for request in message.requests:
        copy = pb.OptimizeRequest()
        copy.CopyFrom(request)
        copy.catalog.CopyFrom(message.catalog)
        requests.append(copy)
    return requests


def plan_from_proto(message: pb.Plan, field: str = "plan") -> Plan:
    return load_plan(MessageView(message), field)


def dict_to_proto(data: Any, message: Message, field: str = "") -> Message:
    """Fill ``message`` from a file's dict, accepting numbers where the proto wants strings.

    Request files say ``output_tokens: 1``; the wire field is an expression string. Unknown
    fields and wrong types become an :class:`InvalidRequestError` naming the field.
    """
    problems = check_dict(data, message.DESCRIPTOR, field)  # type: ignore[arg-type]
    if problems:
        raise InvalidRequestError(problems)
    try:
        json_format.ParseDict(_coerce(data, message.DESCRIPTOR), message)  # type: ignore[arg-type]
    except json_format.ParseError as error:  # (check_dict should have caught it first)
        detail = str(error).rsplit("field: ", 1)[-1]
        raise InvalidRequestError.single(field or message.DESCRIPTOR.name, detail) from None
    return message


def wire_json_dict(data: Any, message: Message) -> dict[str, Any]:
    """A request file's data as protobuf's JSON parser (and grpcurl) accepts it as is.

    Files may say ``output_tokens: 1``; the wire's JSON mapping wants ``"1"`` for a string
    field (and int64 values as strings). The data is read as a file is, then written back
    with the proto field names: unset fields are left out, every value has its wire type.
    """
    dict_to_proto(data, message)
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _coerce(data: Any, descriptor: Descriptor) -> Any:
    if not isinstance(data, Mapping):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        fd = descriptor.fields_by_name.get(key)
        if fd is None:
            out[key] = value
        elif fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            if isinstance(value, Mapping) and value_fd.type == FieldDescriptor.TYPE_STRING:
                out[key] = {k: _scalar_to_str(v) for k, v in value.items()}
            else:
                out[key] = value
        elif fd.message_type is not None:
            if isinstance(value, list):
                out[key] = [_coerce(v, fd.message_type) for v in value]
            else:
                out[key] = _coerce(value, fd.message_type)
        elif fd.type == FieldDescriptor.TYPE_STRING:
            if isinstance(value, list):
                out[key] = [_scalar_to_str(v) for v in value]
            else:
                out[key] = _scalar_to_str(value)
        else:
            out[key] = value
    return out


def _scalar_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return value


def _finite(x: float) -> float:
    return x if not math.isnan(x) else 0.0


def bound_to_proto(bound: Bound | Separation) -> pb.Bound:
    """A Θ as the wire shows it: its text and LaTeX."""
    text, latex = text_and_latex(bound.expr)
    return pb.Bound(text=text, latex=latex)


def plan_to_proto(evaluation: PlanEvaluation) -> pb.Plan:
    """A plan with its figures and bound, as the wire shows it."""
    message = pb.Plan(
        cost=expression_text(evaluation.cost),
        expected_cost=_finite(evaluation.outcome.expected_cost),
        success_probability=evaluation.outcome.success_probability,
        latency=evaluation.outcome.latency,
        cost_p95=_finite(evaluation.outcome.cost_p95),
        bound=bound_to_proto(evaluation.bound),
        cost_of_pass=_finite(evaluation.outcome.cost_of_pass),
        cost_p95_approximate=evaluation.outcome.cost_p95_approximate,
        setup_cost=evaluation.outcome.setup_cost,
        per_run_cost=_finite(evaluation.outcome.per_run_cost),
    )
    for task in evaluation.tasks:
        tp = task.plan
        message.tasks.append(
            pb.TaskPlan(
                task_id=tp.task_id,
                operator=pb.Operator.Value(tp.operator.value),
                roles=[role_to_proto(r) for r in tp.roles],
                params=dict(tp.params),
                cost=expression_text(task.cost),
                expected_cost=_finite(task.outcome.expected_cost),
                success_probability=task.outcome.success_probability,
                latency=task.outcome.latency,
            )
        )
    return message


def separation_to_proto(items: Sequence[Separation]) -> list[pb.Separation]:
    messages = []
    for item in items:
        text, latex = text_and_latex(item.expr)
        messages.append(pb.Separation(role=item.role, text=text, latex=latex))
    return messages


def crossover_to_proto(crossover: Crossover) -> pb.Crossover:
    return pb.Crossover(
        plan=plan_to_proto(crossover.plan),
        parameter=crossover.parameter,
        at=crossover.at,
        text=crossover.text,
        scale=crossover.scale,
        values=dict(crossover.values),
    )


def role_to_proto(r: RoleAssignment) -> pb.RoleAssignment:
    """A role's model and votes, with its ensemble's shares when it has one."""
    return pb.RoleAssignment(
        role=r.role,
        model=r.model,
        votes=r.votes,
        ensemble=[pb.VoteShare(model=s.model, votes=s.votes) for s in r.ensemble],
    )


def task_plan_to_proto(tp: TaskPlan) -> pb.TaskPlan:
    """A task plan's choices alone (operator, roles, parameters), without figures."""
    return pb.TaskPlan(
        task_id=tp.task_id,
        operator=pb.Operator.Value(tp.operator.value),
        roles=[role_to_proto(r) for r in tp.roles],
        params=dict(tp.params),
    )


#: Fields a stability range and the search's statistics carry to the wire as they are.
_STABILITY_FIELDS = ("model", "field", "capability", "low", "high", "conditional")
_STATS_FIELDS = (
    "trials",
    "exhaustive",
    "seconds",
    "candidates",
    "n_trials",
    "stop_reason",
    "method",
)


def _fields(source: Any, names: Sequence[str]) -> dict[str, Any]:
    """``source``'s attributes ``names`` (a record's or a message's), by name."""
    return {name: getattr(source, name) for name in names}


def stability_to_proto(item: StabilityRange) -> pb.StabilityRange:
    return pb.StabilityRange(
        **_fields(item, _STABILITY_FIELDS),
        below=[task_plan_to_proto(tp) for tp in item.below],
        above=[task_plan_to_proto(tp) for tp in item.above],
    )


def stats_to_proto(stats: SearchStats) -> pb.SearchStats:
    """The search's statistics, with its method and proven gap (unset when none is known)."""
    message = pb.SearchStats(**_fields(stats, _STATS_FIELDS), skipped=list(stats.skipped))
    if stats.gap is not None:
        message.gap = stats.gap
    return message


def stats_from_proto(message: pb.SearchStats) -> SearchStats:
    """The inverse of :func:`stats_to_proto`."""
    return SearchStats(
        **_fields(message, _STATS_FIELDS),
        gap=message.gap if message.HasField("gap") else None,
        skipped=tuple(message.skipped),
    )


def result_to_proto(result: OptimizeResult) -> pb.OptimizeResponse:
    message = pb.OptimizeResponse(
        plan=plan_to_proto(result.plan),
        baseline=plan_to_proto(result.baseline) if result.baseline is not None else None,
        separation=separation_to_proto(result.separation),
        pareto_front=[plan_to_proto(p) for p in result.pareto_front],
        crossovers=[crossover_to_proto(c) for c in result.crossovers],
        stability=[stability_to_proto(s) for s in result.stability],
        stats=stats_to_proto(result.stats),
    )
    if result.asymptotic_plan is not None:
        message.asymptotic_plan.CopyFrom(plan_to_proto(result.asymptotic_plan))
    setup = result.setup
    if setup is not None:
        message.setup.with_setup.CopyFrom(plan_to_proto(setup.with_setup))
        if setup.without_setup is not None:
            message.setup.without_setup.CopyFrom(plan_to_proto(setup.without_setup))
        if setup.break_even_volume is not None:
            message.setup.break_even_volume = setup.break_even_volume
        message.setup.text = setup.text
    return message


def analysis_to_proto(result: AnalysisResult) -> pb.AnalyzePlanResponse:
    return pb.AnalyzePlanResponse(
        plan=plan_to_proto(result.plan),
        baseline=plan_to_proto(result.baseline),
        separation=separation_to_proto(result.separation),
    )


def message_to_dict(message: Message) -> dict[str, Any]:
    """The JSON form users see: proto field names, defaults included where they matter."""
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


def message_to_json(message: Message) -> str:
    """Compact JSON of a message, as the job store keeps requests and results."""
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, indent=None, ensure_ascii=False
    )
