"""Every RPC through the generated stub, against a real server on a loopback port."""

from __future__ import annotations

import re
import time

import grpc
import pytest
import sympy
from aalps.cost_models.expressions import parse_expression
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.server.conftest import example_request

#: The paper's results (Meyerson & Qiu §3): the plan's bound and the separation per role.
PAPER = {
    "k_task_routing": ("m_s*n", {"": "k"}),
    "code_debugging": ("b*l**2*m_dev + k*l*m_qa", {"m_qa": "b**2", "m_dev": "b*k**2"}),
    "evolutionary_optimization": ("k*l**2*m_u", {"": "2**k*k"}),
}


def same_expression(text: str, expected: str) -> bool:
    """Whether two bound texts are the same expression (parsed by the domain's parser)."""
    names = set(re.findall(r"[A-Za-z_]\w*", text + " " + expected))
    symbols = {name: sympy.Symbol(name, positive=True) for name in names}
    got = parse_expression(text, symbols=symbols, field="text")
    want = parse_expression(expected, symbols=symbols, field="expected")
    return sympy.expand(got - want) == 0


def final_job(stub: aalps_pb2_grpc.AalpsServiceStub, job_id: str) -> pb.Job:
    """Watch a job to its end; the last snapshot."""
    stream = stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=60)
    *_, last = stream
    return last.job


# --- searches -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAPER))
def test_optimize_reproduces_the_paper(stub: aalps_pb2_grpc.AalpsServiceStub, name: str) -> None:
    bound, separations = PAPER[name]
    response = stub.Optimize(example_request(name), timeout=60)
    assert same_expression(response.plan.bound.text, bound), response.plan.bound.text
    got = {s.role: s.text for s in response.separation}
    assert got.keys() == separations.keys()
    for role, text in separations.items():
        assert same_expression(got[role], text), (role, got[role])
    assert response.plan.expected_cost < response.baseline.expected_cost
    assert response.plan.bound.latex and response.stats.candidates >= 1


def test_analyze_plan_costs_a_given_plan(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = example_request("code_debugging")
    best = stub.Optimize(request, timeout=60)
    plan = pb.Plan(
        tasks=[
            pb.TaskPlan(task_id=t.task_id, operator=t.operator, roles=t.roles, params=t.params)
            for t in best.plan.tasks
        ]
    )
    analysis = stub.AnalyzePlan(pb.AnalyzePlanRequest(request=request, plan=plan), timeout=60)
    assert analysis.plan.bound.text == best.plan.bound.text
    assert analysis.plan.expected_cost == pytest.approx(best.plan.expected_cost)
    assert {s.role: s.text for s in analysis.separation} == {
        s.role: s.text for s in best.separation
    }
    swapped = stub.AnalyzePlan(
        pb.AnalyzePlanRequest(request=request, plan=best.baseline, baseline=plan), timeout=60
    )
    assert swapped.plan.expected_cost == pytest.approx(best.baseline.expected_cost)


def test_batch_streams_every_entry_and_survives_bad_ones(
    stub: aalps_pb2_grpc.AalpsServiceStub,
) -> None:
    good = [example_request(name) for name in sorted(PAPER)]
    cyclic = example_request("k_task_routing")
    cyclic.graph.tasks.add(id="other", capability="solve", input_tokens="n")
    cyclic.graph.edges.add(source="answer", target="other")
    cyclic.graph.edges.add(source="other", target="answer")
    incapable = example_request("k_task_routing")
    incapable.graph.tasks[0].capability = "teleport"
    batch = pb.BatchOptimizeRequest(requests=[good[0], cyclic, good[1], incapable, good[2]])
    entries = {e.index: e for e in stub.BatchOptimize(batch, timeout=120)}
    assert sorted(entries) == [0, 1, 2, 3, 4]
    for i in (0, 2, 4):
        assert entries[i].WhichOneof("outcome") == "result"
        assert entries[i].result.plan.bound.text
    assert entries[1].error.code == code_pb2.INVALID_ARGUMENT
    assert "requests[1].graph.edges" in entries[1].error.message
    assert entries[3].error.code == code_pb2.FAILED_PRECONDITION


def test_empty_batch_ends_at_once(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    assert list(stub.BatchOptimize(pb.BatchOptimizeRequest(), timeout=10)) == []


# --- jobs ---------------------------------------------------------------------------------


def test_job_life_cycle(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = example_request("evolutionary_optimization")
    submitted = stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job
    assert submitted.state == pb.PENDING and submitted.job_id
    assert submitted.request == request
    job = final_job(stub, submitted.job_id)
    assert job.state == pb.SUCCEEDED
    assert same_expression(job.result.plan.bound.text, "k*l**2*m_u")
    got = stub.GetJob(pb.GetJobRequest(job_id=submitted.job_id), timeout=10).job
    assert got.result == job.result and got.request == request
    assert got.create_time.ToDatetime() <= got.update_time.ToDatetime()
    # enumerated exactly: no trial ran (the recorded optimum and baseline are not trials)
    assert got.result.stats.exhaustive and got.result.stats.candidates == 4  # README's count
    assert got.trials_done == got.result.stats.trials == 0
    assert not submitted.HasField("best_expected_cost")  # PENDING: no best cost yet
    assert got.best_expected_cost == pytest.approx(got.result.plan.expected_cost)
    # watching a finished job yields its final snapshot and ends
    again = list(stub.WatchJob(pb.WatchJobRequest(job_id=submitted.job_id), timeout=10))
    assert len(again) == 1 and again[0].job.state == pb.SUCCEEDED
    with pytest.raises(grpc.RpcError) as info:
        stub.CancelJob(pb.CancelJobRequest(job_id=submitted.job_id), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_retried_submit_returns_the_same_job(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = example_request("k_task_routing")
    retry_id = f"retry-{time.monotonic_ns()}"
    first = stub.SubmitJob(pb.SubmitJobRequest(request=request, request_id=retry_id), timeout=30)
    again = stub.SubmitJob(pb.SubmitJobRequest(request=request, request_id=retry_id), timeout=30)
    assert again.job.job_id == first.job.job_id
    assert final_job(stub, first.job.job_id).state == pb.SUCCEEDED
    listed = stub.ListJobs(pb.ListJobsRequest(page_size=100), timeout=10).jobs
    assert [j.job_id for j in listed].count(first.job.job_id) == 1
    other = example_request("code_debugging")
    for request_id, problem in ((retry_id, "already used"), ("no spaces", "letters, digits")):
        with pytest.raises(grpc.RpcError) as info:
            stub.SubmitJob(pb.SubmitJobRequest(request=other, request_id=request_id), timeout=30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "request_id" in info.value.details() and problem in info.value.details()


def test_list_jobs_pages_newest_first(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = example_request("k_task_routing")
    mine = [
        stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job.job_id
        for _ in range(3)
    ]
    for job_id in mine:
        final_job(stub, job_id)
    seen: list[str] = []
    token = ""
    while True:
        page = stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=token), timeout=10)
        assert len(page.jobs) <= 2
        seen += [j.job_id for j in page.jobs]
        assert not any(j.HasField("request") for j in page.jobs)  # listings stay small
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert [j for j in seen if j in mine] == mine[::-1]
    done = stub.ListJobs(pb.ListJobsRequest(state=pb.SUCCEEDED, page_size=500), timeout=10)
    assert set(mine) <= {j.job_id for j in done.jobs}
    assert all(j.state == pb.SUCCEEDED for j in done.jobs)
    default = stub.ListJobs(pb.ListJobsRequest(), timeout=10)
    assert len(default.jobs) == min(len(seen), 50)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (pb.ListJobsRequest(page_size=-1), "page_size"),
        (pb.ListJobsRequest(page_token="not-a-token"), "page_token"),
        (pb.ListJobsRequest(state=42), "state"),
    ],
)
def test_list_jobs_rejects_bad_arguments(
    stub: aalps_pb2_grpc.AalpsServiceStub, message: pb.ListJobsRequest, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.ListJobs(message, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in info.value.details()


def test_unknown_jobs_are_not_found(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    calls = [
        lambda: stub.GetJob(pb.GetJobRequest(job_id="nope"), timeout=10),
        lambda: list(stub.WatchJob(pb.WatchJobRequest(job_id="nope"), timeout=10)),
        lambda: stub.CancelJob(pb.CancelJobRequest(job_id="nope"), timeout=10),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        stub.GetJob(pb.GetJobRequest(), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- health and reflection ----------------------------------------------------------------


def test_health_reports_serving(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "aalps.v1.AalpsService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service_and_its_methods(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {"aalps.v1.AalpsService", "grpc.health.v1.Health"} <= services
    assert any(s.startswith("grpc.reflection.") for s in services)
    from google.protobuf.descriptor_pool import DescriptorPool

    pool = DescriptorPool(database)
    service = pool.FindServiceByName("aalps.v1.AalpsService")
    assert {m.name for m in service.methods} == {
        "Optimize",
        "SubmitJob",
        "GetJob",
        "WatchJob",
        "CancelJob",
        "ListJobs",
        "BatchOptimize",
        "AnalyzePlan",
        "WhatIf",
    }
    assert service.methods_by_name["WatchJob"].server_streaming
    assert service.methods_by_name["WhatIf"].server_streaming
