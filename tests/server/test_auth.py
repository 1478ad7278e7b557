"""Bearer-token auth: no token, no service; each caller sees only its own jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.server.config import ServerConfig
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.server.conftest import ServerThread, example_request, wait_for

ALICE = (("authorization", "Bearer alice-token"),)
BOB = (("authorization", "bearer bob-token"),)
MALLORY = (("authorization", "Bearer guess"),)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    folder: Path = tmp_path_factory.mktemp("auth")
    tokens = folder / "tokens"
    tokens.write_text("# name: token\nalice: alice-token\nbob: bob-token\n", encoding="utf-8")
    config = ServerConfig(
        port=0,
        storage=f"sqlite:///{folder / 'aalps.db'}",
        workers=1,
        auth_token_file=str(tokens),
        grace_seconds=1.0,
    )
    server = ServerThread(config)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def auth_channel(auth_server: ServerThread) -> Iterator[grpc.Channel]:
    with auth_server.channel() as channel:
        yield channel


@pytest.fixture(scope="module")
def auth_stub(auth_channel: grpc.Channel) -> aalps_pb2_grpc.AalpsServiceStub:
    return aalps_pb2_grpc.AalpsServiceStub(auth_channel)


@pytest.mark.parametrize("metadata", [(), MALLORY, (("authorization", "alice-token"),)])
def test_calls_without_a_known_token_are_unauthenticated(
    auth_stub: aalps_pb2_grpc.AalpsServiceStub, metadata: tuple[tuple[str, str], ...]
) -> None:
    calls = [
        lambda: auth_stub.Optimize(example_request("k_task_routing"), metadata=metadata),
        lambda: auth_stub.ListJobs(pb.ListJobsRequest(), metadata=metadata),
        lambda: list(auth_stub.WatchJob(pb.WatchJobRequest(job_id="x"), metadata=metadata)),
        lambda: list(auth_stub.BatchOptimize(pb.BatchOptimizeRequest(), metadata=metadata)),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_and_reflection_need_no_token(auth_channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(auth_channel)
    reply = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert "aalps.v1.AalpsService" in ProtoReflectionDescriptorDatabase(auth_channel).get_services()


def test_jobs_belong_to_their_token(auth_stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = pb.SubmitJobRequest(request=example_request("k_task_routing"))
    job_id = auth_stub.SubmitJob(request, metadata=ALICE, timeout=30).job.job_id
    for call in (
        lambda: auth_stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=BOB, timeout=10),
        lambda: auth_stub.CancelJob(pb.CancelJobRequest(job_id=job_id), metadata=BOB, timeout=10),
        lambda: list(
            auth_stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=BOB, timeout=10)
        ),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    bobs = auth_stub.ListJobs(pb.ListJobsRequest(), metadata=BOB, timeout=10)
    assert job_id not in {j.job_id for j in bobs.jobs}
    alices = auth_stub.ListJobs(pb.ListJobsRequest(), metadata=ALICE, timeout=10)
    assert job_id in {j.job_id for j in alices.jobs}

    def finished() -> pb.Job | None:
        job = auth_stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=ALICE, timeout=10).job
        return job if job.state == pb.SUCCEEDED else None

    assert wait_for(finished, timeout=60).result.plan.bound.text
