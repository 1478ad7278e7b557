"""The wire contract: generated code, DESIGN §5 names, request files, reproducibility."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from aalps.proto.aalps.v1 import aalps_pb2, aalps_pb2_grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _quote_numbers(data: Any, descriptor: Descriptor, path: str = "") -> tuple[Any, list[str]]:
    """Turn bare numbers in string fields (expressions) into strings, as a YAML/JSON
    front end must before ``json_format.ParseDict``, which rejects them. Returns the
    converted data and the paths of the fields it changed."""
    changed: list[str] = []

    def scalar(value: Any, field: FieldDescriptor, where: str) -> Any:
        if (
            field.type == FieldDescriptor.TYPE_STRING
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            changed.append(where)
            return str(value)
        return value

    def walk(value: Any, desc: Descriptor, where: str) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            field = desc.fields_by_name.get(key)
            here = f"{where}.{key}" if where else key
            if field is None:
                out[key] = item
            elif field.message_type is not None and field.message_type.GetOptions().map_entry:
                value_field = field.message_type.fields_by_name["value"]
                out[key] = {
                    k: (
                        walk(v, value_field.message_type, f"{here}[{k}]")
                        if value_field.message_type is not None
                        else scalar(v, value_field, f"{here}[{k}]")
                    )
                    for k, v in (item or {}).items()
                }
            elif field.message_type is not None:
                if isinstance(item, list):
                    out[key] = [
                        walk(v, field.message_type, f"{here}[{i}]") for i, v in enumerate(item)
                    ]
                else:
                    out[key] = walk(item, field.message_type, here)
            elif isinstance(item, list):
                out[key] = [scalar(v, field, f"{here}[{i}]") for i, v in enumerate(item)]
            else:
                out[key] = scalar(item, field, here)
        return out

    return walk(copy.deepcopy(data), descriptor, path), changed


def _round_trip(data: dict[str, Any]) -> dict[str, Any]:
    message = json_format.ParseDict(data, aalps_pb2.OptimizeRequest())
    wire = aalps_pb2.OptimizeRequest.FromString(message.SerializeToString())
    return json_format.MessageToDict(wire, preserving_proto_field_name=True)


def test_code_debugging_round_trips_with_the_same_keys_and_values() -> None:
    data, _ = _quote_numbers(
        _load(ROOT / "examples/code_debugging.yaml"), aalps_pb2.OptimizeRequest.DESCRIPTOR
    )
    back = _round_trip(data)
    assert back == data  # 200 == 200.0: doubles come back as floats
    task = back["graph"]["tasks"][0]
    assert set(task) == {
        "id",
        "capability",
        "role_capabilities",
        "input_tokens",
        "output_tokens",
        "blocks",
        "defects",
    }
    assert task["blocks"] == {"count": "k", "size": "l"}
    assert task["defects"] == {"count": "b"}
    assert back["graph"]["assumptions"] == ["b <= k"]
    assert back["graph"]["parameters"][3] == {
        "name": "n",
        "description": "tokens of code",
        "expr": "k*l",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_parses_and_round_trips(path: Path) -> None:
    """Every key of every example is a proto field (ParseDict rejects unknown ones)."""
    data, _ = _quote_numbers(_load(path), aalps_pb2.OptimizeRequest.DESCRIPTOR)
    assert _round_trip(data) == data


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_parses_as_written(path: Path) -> None:
    """Files say ``output_tokens: 1``; the product's front end (``dict_to_proto``) accepts
    bare numbers in expression (string) fields and gives what quoting them by hand gives."""
    from aalps.proto.convert import dict_to_proto

    raw = _load(path)
    quoted, _ = _quote_numbers(raw, aalps_pb2.OptimizeRequest.DESCRIPTOR)
    message = dict_to_proto(raw, aalps_pb2.OptimizeRequest())
    assert message == json_format.ParseDict(quoted, aalps_pb2.OptimizeRequest())


def test_the_loader_accepts_what_message_to_dict_produces() -> None:
    """aalps.cost_models.loading reads MessageToDict(preserving_proto_field_name=True) output."""
    loading = pytest.importorskip("aalps.cost_models.loading")
    for path in EXAMPLES:
        data, _ = _quote_numbers(_load(path), aalps_pb2.OptimizeRequest.DESCRIPTOR)
        request = loading.load_request(_round_trip(data))
        assert request.graph.tasks, path.name
    plan = aalps_pb2.Plan(
        tasks=[
            aalps_pb2.TaskPlan(
                task_id="count",
                operator=aalps_pb2.CHUNK_AGGREGATE,
                roles=[aalps_pb2.RoleAssignment(role="worker", model="small", votes=3)],
                params={"chunk": 300},
            )
        ]
    )
    as_dict = json_format.MessageToDict(plan, preserving_proto_field_name=True)
    assert as_dict["tasks"][0]["params"] == {"chunk": "300"}  # int64 is a JSON string
    loaded = pytest.importorskip("aalps.cost_models.plan_loading").load_plan(as_dict)
    assert loaded.tasks[0].params == (("chunk", 300),)
    assert loaded.tasks[0].roles[0].votes == 3


ENUMS = {
    "CostModel": [
        "COST_MODEL_UNSPECIFIED",
        "FORWARD_PASS",
        "KV_CACHED",
        "PRICED",
        "QUADRATIC_ATTENTION",
    ],
    "Operator": [
        "OPERATOR_UNSPECIFIED",
        "DIRECT",
        "ROUTE",
        "MAP",
        "SCAN_AND_FIX",
        "ITERATE_WITH_HISTORY",
        "ITERATE_STATELESS",
        "GLOBAL_RETRY",
        "LOCAL_RETRY",
        "CHUNK_AGGREGATE",
        "AHEAD_BY_K",
        "CASCADE",
    ],
    "Objective": ["OBJECTIVE_UNSPECIFIED", "COST", "LATENCY", "FAILURE_PROBABILITY"],
    "JobState": [
        "JOB_STATE_UNSPECIFIED",
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "CANCELLED",
    ],
}


@pytest.mark.parametrize("enum", sorted(ENUMS))
def test_enum_values_are_spelled_as_in_design(enum: str) -> None:
    descriptor = aalps_pb2.DESCRIPTOR.enum_types_by_name[enum]
    assert [v.name for v in descriptor.values] == ENUMS[enum]
    assert descriptor.values[0].number == 0
    for name in ENUMS[enum]:
        assert getattr(aalps_pb2, name) == descriptor.values_by_name[name].number


def test_enum_names_parse_unprefixed_in_files() -> None:
    request = json_format.ParseDict(
        {
            "cost_model": "KV_CACHED",
            "search": {"objectives": ["COST", "LATENCY"]},
            "graph": {"tasks": [{"id": "t", "baseline": "SCAN_AND_FIX"}]},
        },
        aalps_pb2.OptimizeRequest(),
    )
    assert request.cost_model == aalps_pb2.KV_CACHED
    assert list(request.search.objectives) == [aalps_pb2.COST, aalps_pb2.LATENCY]
    assert request.graph.tasks[0].baseline == aalps_pb2.SCAN_AND_FIX


#: DESIGN §5's field names (plus the ones the loader reads), per message.
FIELDS = {
    "OptimizeRequest": {
        "graph",
        "catalog",
        "cost_model",
        "constraints",
        "search",
        "pricing",
        "prompt_cache",
        "volume",
    },
    "Constraints": {"min_success_probability", "max_cost", "max_latency", "parallelism"},
    "SearchOptions": {"n_trials", "timeout_seconds", "seed", "objectives", "objective", "rank_by"},
    "TaskGraph": {"name", "parameters", "assumptions", "tasks", "edges"},
    "Parameter": {"name", "description", "value", "grows", "expr"},
    "Edge": {"source", "target", "tokens"},
    "Task": {
        "id",
        "capability",
        "role_capabilities",
        "input_tokens",
        "output_tokens",
        "prompt_tokens",
        "blocks",
        "routing",
        "defects",
        "acceptance",
        "chunkable",
        "steps",
        "baseline",
        "discrete",
        "cascade",
        "executor",
        "tool",
    },
    "CascadeFact": {"max_stages", "rates"},
    "CascadeRates": {"accept_rate", "accepted_accuracy"},
    "Blocks": {"count", "size", "output"},
    "Routing": {"tokens", "capability", "code_router"},
    "ToolSpec": {"price_per_call", "latency", "failure_rate"},
    "CacheOptions": {"enabled", "lifetime_calls"},
    "SetupBreakEven": {"with_setup", "without_setup", "break_even_volume", "text"},
    "Defects": {"count", "report_tokens", "max_iterations"},
    "Acceptance": {"success_probability", "verifier", "max_attempts"},
    "Chunkable": {"aggregate_tokens", "aggregator"},
    "Steps": {"count", "tokens", "output"},
    "Catalog": {"models"},
    "Model": {
        "name",
        "size",
        "price_per_input_token",
        "price_per_output_token",
        "context_window",
        "capabilities",
        "per_variant",
        "latency_per_token",
        "per_token_error",
        "source_key",
        "price_per_cached_input_token",
        "price_per_cache_write_token",
        "batch_prices",
        "tier_threshold_tokens",
        "tier_prices",
        "batch_tier_prices",
        "cascade",
        "vote_correlation",
        "vote_correlations",
        "setup_cost",
    },
    "TokenPrices": {"input", "output", "cached_input", "cache_write"},
    "OptimizeResponse": {
        "plan",
        "baseline",
        "separation",
        "pareto_front",
        "crossovers",
        "stats",
        "asymptotic_plan",
        "stability",
        "setup",
    },
    "StabilityRange": {
        "model",
        "field",
        "capability",
        "low",
        "high",
        "below",
        "above",
        "conditional",
    },
    "Separation": {"role", "text", "latex"},
    "Crossover": {"plan", "parameter", "at", "text", "scale", "values"},
    "SearchStats": {
        "trials",
        "exhaustive",
        "seconds",
        "candidates",
        "n_trials",
        "stop_reason",
        "method",
        "gap",
        "skipped",
    },  # fmt: skip
    "Plan": {
        "tasks",
        "cost",
        "expected_cost",
        "success_probability",
        "latency",
        "cost_p95",
        "bound",
        "cost_of_pass",
        "cost_p95_approximate",
        "setup_cost",
        "per_run_cost",
    },
    "TaskPlan": {
        "task_id",
        "operator",
        "roles",
        "params",
        "cost",
        "expected_cost",
        "success_probability",
        "latency",
    },
    "RoleAssignment": {"role", "model", "votes", "ensemble"},
    "VoteShare": {"model", "votes"},
    "Bound": {"text", "latex"},
}


@pytest.mark.parametrize("message", sorted(FIELDS))
def test_field_names_match_the_design(message: str) -> None:
    descriptor = aalps_pb2.DESCRIPTOR.message_types_by_name[message]
    assert set(descriptor.fields_by_name) == FIELDS[message]


def test_presence_where_absent_differs_from_zero() -> None:
    assert aalps_pb2.Parameter.DESCRIPTOR.fields_by_name["grows"].has_presence
    for name in ("min_success_probability", "max_cost", "max_latency"):
        assert aalps_pb2.Constraints.DESCRIPTOR.fields_by_name[name].has_presence
    parameter = aalps_pb2.Parameter(name="c")
    assert not parameter.HasField("grows")  # absent = grows
    parameter.grows = False
    assert json_format.MessageToDict(parameter, preserving_proto_field_name=True) == {
        "name": "c",
        "grows": False,
    }


#: RPC -> (request, response, server streaming).
RPCS = {
    "Optimize": ("OptimizeRequest", "OptimizeResponse", False),
    "SubmitJob": ("SubmitJobRequest", "SubmitJobResponse", False),
    "GetJob": ("GetJobRequest", "GetJobResponse", False),
    "WatchJob": ("WatchJobRequest", "WatchJobResponse", True),
    "CancelJob": ("CancelJobRequest", "CancelJobResponse", False),
    "ListJobs": ("ListJobsRequest", "ListJobsResponse", False),
    "BatchOptimize": ("BatchOptimizeRequest", "BatchOptimizeResponse", True),
    "AnalyzePlan": ("AnalyzePlanRequest", "AnalyzePlanResponse", False),
    "WhatIf": ("WhatIfRequest", "WhatIfResponse", True),
}


def test_service_methods() -> None:
    service = aalps_pb2.DESCRIPTOR.services_by_name["AalpsService"]
    assert service.full_name == "aalps.v1.AalpsService"
    methods = {
        m.name: (m.input_type.name, m.output_type.name, m.server_streaming) for m in service.methods
    }
    assert methods == RPCS
    assert not any(m.client_streaming for m in service.methods)
    batch = aalps_pb2.BatchOptimizeResponse(index=2, error={"code": 3, "message": "bad"})
    assert batch.WhichOneof("outcome") == "error"


class _Servicer(aalps_pb2_grpc.AalpsServiceServicer):
    def Optimize(self, request, context):  # noqa: N802 - gRPC method name
        return aalps_pb2.OptimizeResponse(
            plan=aalps_pb2.Plan(cost=request.graph.name, bound=aalps_pb2.Bound(text="k"))
        )

    def WatchJob(self, request, context):  # noqa: N802
        for done in (1, 2):
            yield aalps_pb2.WatchJobResponse(
                job=aalps_pb2.Job(job_id=request.job_id, state=aalps_pb2.RUNNING, trials_done=done)
            )
        yield aalps_pb2.WatchJobResponse(
            job=aalps_pb2.Job(job_id=request.job_id, state=aalps_pb2.SUCCEEDED)
        )


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    # Only two methods: the rest answer UNIMPLEMENTED (the stubs declare them abstract).
    aalps_pb2_grpc.add_AalpsServiceServicer_to_server(_Servicer(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as chan:
            yield chan
    finally:
        server.stop(grace=None)


def test_generated_stub_and_servicer_talk(channel: grpc.Channel) -> None:
    stub = aalps_pb2_grpc.AalpsServiceStub(channel)
    reply = stub.Optimize(
        aalps_pb2.OptimizeRequest(graph=aalps_pb2.TaskGraph(name="g")), timeout=10
    )
    assert reply.plan.cost == "g" and reply.plan.bound.text == "k"
    states = [r.job.state for r in stub.WatchJob(aalps_pb2.WatchJobRequest(job_id="j"), timeout=10)]
    assert states == [aalps_pb2.RUNNING, aalps_pb2.RUNNING, aalps_pb2.SUCCEEDED]
    with pytest.raises(grpc.RpcError) as error:
        stub.GetJob(aalps_pb2.GetJobRequest(job_id="j"), timeout=10)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_generated_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_imports_use_the_installed_package() -> None:
    text = (ROOT / "proto/aalps/v1/aalps_pb2_grpc.py").read_text(encoding="utf-8")
    assert "from aalps.proto.aalps.v1 import aalps_pb2" in text
    assert "from proto." not in text
    stubs = (ROOT / "proto/aalps/v1/aalps_pb2_grpc.pyi").read_text(encoding="utf-8")
    assert "from aalps.proto.aalps.v1 import aalps_pb2" in stubs
    assert aalps_pb2.OptimizeRequest.__module__ == "aalps.proto.aalps.v1.aalps_pb2"
    assert aalps_pb2.OptimizeRequest.DESCRIPTOR.full_name == "aalps.v1.OptimizeRequest"
    assert aalps_pb2.DESCRIPTOR.name == "proto/aalps/v1/aalps.proto"
    assert aalps_pb2.DESCRIPTOR.package == "aalps.v1"
