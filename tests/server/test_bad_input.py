"""Garbage in: INVALID_ARGUMENT naming every field; the server stays up and loses nothing.

Policy for a capability that no model in the catalog has: the request is well-formed, so
validation accepts it and the optimizer finds no feasible plan: FAILED_PRECONDITION with a
``PreconditionFailure`` (type ``INFEASIBLE``) naming the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from tests.server.conftest import example_request, wait_for

Mutation = Callable[[pb.OptimizeRequest], None]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def raw_optimize(channel: grpc.Channel, payload: bytes, timeout: float = 60) -> bytes:
    """Optimize with hand-made bytes: what a client with another schema could send."""
    call = channel.unary_unary(
        "/aalps.v1.AalpsService/Optimize",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    return call(payload, timeout=timeout)


def bad_request_fields(error: grpc.RpcError) -> list[str]:
    """The fields a BadRequest detail names (asserting the code and the detail exist)."""
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    status = rpc_status.from_call(error)
    assert status is not None, "no rich error details"
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    assert fields, "no BadRequest detail"
    return fields


def _set_cycle(r: pb.OptimizeRequest) -> None:
    r.graph.tasks.add(id="again", capability="solve", input_tokens="n")
    r.graph.edges.add(source="answer", target="again")
    r.graph.edges.add(source="again", target="answer")


def _negative_model_size(r: pb.OptimizeRequest) -> None:
    r.catalog.models[0].size = "-1"


def _reliability(r: pb.OptimizeRequest) -> None:
    r.catalog.models[0].capabilities["solve"] = 1.5


def _negative_block(r: pb.OptimizeRequest) -> None:
    r.graph.tasks[0].blocks.count = "k"
    r.graph.tasks[0].blocks.size = "-5"


def _task(r: pb.OptimizeRequest) -> pb.Task:
    return r.graph.tasks[0]


def _blocks(count: str) -> Mutation:
    def change(r: pb.OptimizeRequest) -> None:
        r.graph.tasks[0].blocks.count = count
        r.graph.tasks[0].blocks.size = "n/k"

    return change


def _parameter_expr(expr: str) -> Mutation:
    def change(r: pb.OptimizeRequest) -> None:
        r.graph.parameters.add(name="z", expr=expr)
        r.graph.tasks[0].output_tokens = "z"

    return change


def _model_size_over(value: float, expr: str) -> Mutation:
    def change(r: pb.OptimizeRequest) -> None:
        r.graph.parameters[1].value = value  # k
        r.catalog.models[0].size = expr

    return change


# The fuzzing finds (runaway or overflowing expressions), each with its field.
RUNAWAY_CASES: dict[str, tuple[Mutation, list[str]]] = {
    "ceil tower in blocks.count": (
        _blocks("ceil(k)**ceil(k)**ceil(k)"),
        ["graph.tasks[0].blocks.count"],
    ),
    "max tower in blocks.count": (_blocks("max(k, 2**k)**2**k"), ["graph.tasks[0].blocks.count"]),
    "2**k in blocks.count": (_blocks("2**k"), ["graph.tasks[0].blocks.count"]),
    "exp tower in a parameter": (
        _parameter_expr("exp(exp(exp(k)))"),
        ["graph.parameters[4].expr"],
    ),
    "power tower in a parameter": (_parameter_expr("k**k**k**k"), ["graph.parameters[4].expr"]),
    "2**k in a parameter": (_parameter_expr("2**k"), ["graph.parameters[4].expr"]),
    "tower in a model size": (
        lambda r: setattr(r.catalog.models[0], "size", "ceil(k)**ceil(k)**ceil(k)"),
        ["catalog.models[0].size"],
    ),
    "size k with k = -1": (_model_size_over(-1, "k"), ["graph.parameters[1].value"]),
}


CASES: dict[str, tuple[Mutation, list[str]]] = {
    "cycle": (_set_cycle, ["graph.edges"]),
    "undefined symbol": (
        lambda r: setattr(_task(r), "input_tokens", "n*zz"),
        ["graph.tasks[0].input_tokens"],
    ),
    "hostile expression": (
        lambda r: setattr(_task(r), "input_tokens", "__import__('os').system('x')"),
        ["graph.tasks[0].input_tokens"],
    ),
    "dunder attribute": (
        lambda r: setattr(_task(r), "output_tokens", "n.__class__"),
        ["graph.tasks[0].output_tokens"],
    ),
    "huge exponent": (
        lambda r: setattr(_task(r), "input_tokens", "9**9**9**9"),
        ["graph.tasks[0].input_tokens"],
    ),
    "negative model size": (_negative_model_size, ["catalog.models[0].size"]),
    "negative block size": (_negative_block, ["graph.tasks[0].blocks.size"]),
    "reliability 1.5": (_reliability, ["catalog.models[0].capabilities[solve]"]),
    "no tasks": (lambda r: r.graph.ClearField("tasks"), ["graph.tasks"]),
    "too many trials": (
        lambda r: setattr(r.search, "n_trials", 10**9),
        ["search.n_trials"],
    ),
}


@pytest.fixture(scope="module")
def stored_job(stub: aalps_pb2_grpc.AalpsServiceStub) -> Iterator[pb.Job]:
    """A finished job, stored before the garbage arrives."""
    request = example_request("code_debugging")
    job_id = stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job.job_id

    def done() -> pb.Job | None:
        job = stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10).job
        return job if job.state == pb.SUCCEEDED else None

    yield wait_for(done, timeout=60)


@pytest.mark.parametrize("case", sorted(RUNAWAY_CASES))
def test_runaway_expression_is_invalid_argument_naming_its_field(
    stub: aalps_pb2_grpc.AalpsServiceStub, case: str
) -> None:
    mutation, fields = RUNAWAY_CASES[case]
    request = example_request("k_task_routing")
    mutation(request)
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as info:
        stub.Optimize(request, timeout=30)
    assert time.monotonic() - start < 10
    assert set(fields) <= set(bad_request_fields(info.value))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request_is_invalid_argument(
    stub: aalps_pb2_grpc.AalpsServiceStub, stored_job: pb.Job, case: str
) -> None:
    mutation, fields = CASES[case]
    request = example_request("k_task_routing")
    mutation(request)
    with pytest.raises(grpc.RpcError) as info:
        stub.Optimize(request, timeout=60)
    assert set(fields) <= set(bad_request_fields(info.value))


def test_every_violation_is_named_at_once(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = example_request("k_task_routing")
    request.graph.tasks[0].input_tokens = "n*zz"
    request.catalog.models[0].capabilities["solve"] = 1.5
    request.catalog.models[1].size = "-1"
    with pytest.raises(grpc.RpcError) as info:
        stub.Optimize(request, timeout=60)
    assert {
        "graph.tasks[0].input_tokens",
        "catalog.models[0].capabilities[solve]",
        "catalog.models[1].size",
    } <= set(bad_request_fields(info.value))


@pytest.mark.parametrize(
    ("suffix", "field"),
    [
        (b"\x18\x63", "cost_model"),  # field 3 (cost_model) = 99: no such CostModel
        (_length_delimited(5, b"\x20\x2a"), "search.objectives[0]"),  # objectives = [42]
    ],
)
def test_out_of_range_enum_is_invalid_argument(
    channel: grpc.Channel, suffix: bytes, field: str
) -> None:
    payload = example_request("k_task_routing").SerializeToString() + suffix
    with pytest.raises(grpc.RpcError) as info:
        raw_optimize(channel, payload)
    assert field in bad_request_fields(info.value)


def test_json_built_request_with_unknown_enums(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    """A request built from JSON: an unknown enum *name* never leaves the client (protobuf's
    JSON parser refuses it); an unknown enum *number* is carried and the server names it."""
    data = json_format.MessageToDict(
        example_request("k_task_routing"), preserving_proto_field_name=True
    )
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict({**data, "cost_model": "CHEAPEST"}, pb.OptimizeRequest())
    request = json_format.ParseDict(
        {**data, "cost_model": 99, "search": {"objectives": ["COST", 7]}}, pb.OptimizeRequest()
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.Optimize(request, timeout=60)
    assert {"cost_model", "search.objectives[1]"} <= set(bad_request_fields(info.value))


def test_out_of_range_nested_enum(channel: grpc.Channel) -> None:
    request = example_request("k_task_routing")
    task = request.graph.tasks[0].SerializeToString() + b"\x68\x63"  # baseline (13) = 99
    request.graph.ClearField("tasks")
    graph = request.graph.SerializeToString() + _length_delimited(4, task)
    request.ClearField("graph")
    payload = _length_delimited(1, graph) + request.SerializeToString()
    with pytest.raises(grpc.RpcError) as info:
        raw_optimize(channel, payload)
    assert "graph.tasks[0].baseline" in bad_request_fields(info.value)


def test_undecodable_bytes_are_invalid_argument(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        raw_optimize(channel, b"\xff\xff\xff\xff not a message")
    assert bad_request_fields(info.value) == [""]
    watch = channel.unary_stream(
        "/aalps.v1.AalpsService/WatchJob",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    with pytest.raises(grpc.RpcError) as info:
        list(watch(b"\x0a\xff", timeout=10))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_million_tasks_is_invalid_argument_at_once(channel: grpc.Channel) -> None:
    one = _length_delimited(
        4, pb.Task(id="t", capability="solve", input_tokens="1").SerializeToString()
    )
    base = example_request("k_task_routing")
    graph = base.graph.SerializeToString() + one * 1_000_000
    base.ClearField("graph")
    payload = _length_delimited(1, graph) + base.SerializeToString()
    assert len(payload) > 10_000_000
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as info:
        raw_optimize(channel, payload)
    assert bad_request_fields(info.value) == ["graph.tasks"]
    assert time.monotonic() - start < 15


def test_unknown_capability_is_failed_precondition(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = example_request("k_task_routing")
    request.graph.tasks[0].capability = "teleport"
    request.graph.tasks[0].routing.capability = "teleport"
    with pytest.raises(grpc.RpcError) as info:
        stub.Optimize(request, timeout=60)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    status = rpc_status.from_call(info.value)
    assert status is not None
    failure = error_details_pb2.PreconditionFailure()
    assert status.details[0].Unpack(failure)
    assert failure.violations and failure.violations[0].type == "INFEASIBLE"
    assert any("answer" in v.subject or "answer" in v.description for v in failure.violations)


def test_bad_submit_creates_no_job(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    before = stub.ListJobs(pb.ListJobsRequest(page_size=500), timeout=10)
    request = example_request("k_task_routing")
    request.graph.tasks[0].input_tokens = "__import__('os')"
    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30)
    assert "request.graph.tasks[0].input_tokens" in bad_request_fields(info.value)
    after = stub.ListJobs(pb.ListJobsRequest(page_size=500), timeout=10)
    assert [j.job_id for j in after.jobs] == [j.job_id for j in before.jobs]


def test_bad_plan_is_invalid_argument(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    plan = pb.Plan(
        tasks=[
            pb.TaskPlan(
                task_id="answer",
                operator=pb.DIRECT,
                roles=[pb.RoleAssignment(role="worker", model="no_such_model")],
            )
        ]
    )
    request = pb.AnalyzePlanRequest(request=example_request("k_task_routing"), plan=plan)
    with pytest.raises(grpc.RpcError) as info:
        stub.AnalyzePlan(request, timeout=30)
    assert any(f.startswith("plan.tasks[") for f in bad_request_fields(info.value))


def test_server_still_serves_and_stored_jobs_are_intact(
    channel: grpc.Channel, stub: aalps_pb2_grpc.AalpsServiceStub, stored_job: pb.Job
) -> None:
    """Runs after the garbage above (file order): nothing was lost, nothing is down."""
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert stub.Optimize(example_request("k_task_routing"), timeout=60).plan.bound.text
    again = stub.GetJob(pb.GetJobRequest(job_id=stored_job.job_id), timeout=10).job
    assert again == stored_job


def test_status_details_stay_small_for_thousands_of_violations(
    stub: aalps_pb2_grpc.AalpsServiceStub,
) -> None:
    request = example_request("k_task_routing")
    template = request.graph.tasks[0]
    request.graph.ClearField("tasks")
    for i in range(3000):
        request.graph.tasks.add(id=f"t{i}", capability=template.capability, input_tokens="-1")
    with pytest.raises(grpc.RpcError) as info:
        stub.Optimize(request, timeout=60)
    fields = bad_request_fields(info.value)
    assert "graph.tasks[0].input_tokens" in fields and len(fields) < 3000
    status = rpc_status.from_call(info.value)
    assert isinstance(status, status_pb2.Status) and status.ByteSize() < 8192
