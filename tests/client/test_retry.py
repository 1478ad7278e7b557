"""The clients' channels retry UNAVAILABLE calls (service config) and default the port.

A fake AalpsService answers GetJob with UNAVAILABLE a set number of times before it answers;
it counts the attempts it saw, so the retries are observed at the server, not inferred.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from aalps.client import AsyncClient, Client
from aalps.client.channels import MAX_ATTEMPTS, channel_options, with_default_port
from aalps.client.errors import NotFoundError, UnavailableError
from aalps.proto.aalps.v1 import aalps_pb2 as pb


class FlakyService:
    """GetJob fails with ``code`` for the first ``failures`` attempts, then answers."""

    def __init__(self) -> None:
        self.failures = 0
        self.code = grpc.StatusCode.UNAVAILABLE
        self.attempts = 0
        self._lock = threading.Lock()

    def get_job(
        self, request: pb.GetJobRequest, context: grpc.ServicerContext
    ) -> pb.GetJobResponse:
        with self._lock:
            self.attempts += 1
            failing = self.attempts <= self.failures
        if failing:
            context.abort(self.code, "not now")
        return pb.GetJobResponse(job=pb.Job(job_id=request.job_id))


@pytest.fixture
def flaky() -> Iterator[tuple[FlakyService, str]]:
    service = FlakyService()
    handler = grpc.unary_unary_rpc_method_handler(
        service.get_job,
        request_deserializer=pb.GetJobRequest.FromString,
        response_serializer=pb.GetJobResponse.SerializeToString,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("aalps.v1.AalpsService", {"GetJob": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, f"127.0.0.1:{port}"
    server.stop(0)


def test_unavailable_is_retried_until_the_server_answers(flaky: tuple[FlakyService, str]) -> None:
    service, address = flaky
    service.failures = 2
    with Client.remote(address, timeout=30) as aalps:
        assert aalps.get_job("j-1").job_id == "j-1"
    assert service.attempts == 3  # two refusals, then the answer


def test_retries_stop_after_max_attempts(flaky: tuple[FlakyService, str]) -> None:
    service, address = flaky
    service.failures = 100
    with Client.remote(address, timeout=30) as aalps, pytest.raises(UnavailableError):
        aalps.get_job("j-1")
    assert service.attempts == MAX_ATTEMPTS == 5


def test_other_codes_are_not_retried(flaky: tuple[FlakyService, str]) -> None:
    service, address = flaky
    service.failures, service.code = 100, grpc.StatusCode.NOT_FOUND
    with Client.remote(address, timeout=30) as aalps, pytest.raises(NotFoundError):
        aalps.get_job("j-1")
    assert service.attempts == 1


def test_the_async_client_retries_too(flaky: tuple[FlakyService, str]) -> None:
    service, address = flaky
    service.failures = 3

    async def call() -> str:
        async with AsyncClient(address, timeout=30) as aalps:
            return (await aalps.get_job("j-2")).job_id

    assert asyncio.run(call()) == "j-2"
    assert service.attempts == 4


def test_the_channel_carries_the_policy_and_keepalive() -> None:
    options = dict(channel_options())
    config = json.loads(options["grpc.service_config"])
    (method,) = config["methodConfig"]
    assert method["name"] == [{"service": "aalps.v1.AalpsService"}]
    assert method["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert method["retryPolicy"]["maxAttempts"] == 5
    assert options["grpc.keepalive_time_ms"] == 60_000 and options["grpc.enable_retries"] == 1


@pytest.mark.parametrize(
    ("given", "target"),
    [
        ("localhost", "localhost:50051"),
        ("aalps.example.com", "aalps.example.com:50051"),
        ("10.0.0.7", "10.0.0.7:50051"),
        ("[::1]", "[::1]:50051"),
        ("localhost:443", "localhost:443"),
        ("[::1]:7000", "[::1]:7000"),
        ("::1", "::1"),
        ("dns:///aalps.example.com", "dns:///aalps.example.com"),
        ("unix:/run/aalps.sock", "unix:/run/aalps.sock"),
    ],
)
def test_a_target_without_a_port_gets_the_aalps_port(given: str, target: str) -> None:
    assert with_default_port(given) == target


def test_server_host_alone_reaches_port_50051() -> None:
    with Client.remote("localhost") as aalps:
        assert aalps._backend.target == "localhost:50051"  # type: ignore[attr-defined]
