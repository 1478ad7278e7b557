"""Metrics and the access log: exact counts by method and code after a known sequence of calls.

One server (auth on, metrics on port 0) serves a fixed script of calls; the Prometheus
endpoint is then scraped over HTTP and parsed with prometheus_client's own parser. The
expected counts are the script's, written down by hand; the access log's owner hash is
recomputed here from the caller's name, and the token must appear nowhere in it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.server.call_observer import ACCESS_LOGGER
from aalps.server.config import ServerConfig
from aalps.server.log_format import JsonFormatter, masked_url
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import ServerThread, example_request, wait_for

TOKEN = "alice-secret-token"
ALICE = (("authorization", f"Bearer {TOKEN}"),)
SERVICE = "aalps.v1.AalpsService"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Run the script once: 2 OK Optimize, 1 INVALID_ARGUMENT Optimize, 1 NOT_FOUND GetJob,
    1 UNAUTHENTICATED GetJob; return the scrape, the access records and the responses."""
    folder: Path = tmp_path_factory.mktemp("metrics")
    (folder / "tokens").write_text(f"alice: {TOKEN}\n", encoding="utf-8")
    config = ServerConfig(
        port=0,
        storage=f"sqlite:///{folder / 'aalps.db'}",
        workers=1,
        validation_workers=1,
        auth_token_file=str(folder / "tokens"),
        metrics_port=0,
        grace_seconds=1.0,
    )
    records = _Records()
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(records)
    access.setLevel(logging.INFO)
    server = ServerThread(config)
    try:
        with server.channel() as channel:
            stub = aalps_pb2_grpc.AalpsServiceStub(channel)
            good = example_request("k_task_routing")
            responses = [stub.Optimize(good, metadata=ALICE) for _ in range(2)]
            codes = []
            for call in (
                lambda: stub.Optimize(pb.OptimizeRequest(), metadata=ALICE),
                lambda: stub.GetJob(pb.GetJobRequest(job_id="no-such-job"), metadata=ALICE),
                lambda: stub.GetJob(pb.GetJobRequest(job_id="no-such-job")),
            ):
                with pytest.raises(grpc.RpcError) as caught:
                    call()
                codes.append(caught.value.code())
        assert server.server.metrics_port is not None
        url = f"http://127.0.0.1:{server.server.metrics_port}/metrics"

        def scrape_all() -> str | None:
            """The scrape once it counts all five calls: a call is counted (and logged)
            as its handler returns, which can come just after the client has its answer."""
            with urllib.request.urlopen(url, timeout=10) as answer:
                text: str = answer.read().decode()
            handled = _samples(text, "grpc_server_handled_total")
            done = sum(v for k, v in handled.items() if dict(k)["grpc_service"] == SERVICE)
            logged = [r for r in records.records if f"/{SERVICE}/" in r.fields["method"]]
            return text if done >= 5 and len(logged) >= 5 else None

        scrape = wait_for(scrape_all, timeout=10)
    finally:
        server.stop()
        access.removeHandler(records)
    yield {
        "scrape": scrape,
        "records": records.records,
        "responses": responses,
        "codes": codes,
        "request_bytes": good.ByteSize(),
    }


def _samples(scrape: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_clients_got_the_codes_the_script_expects(scripted: dict[str, object]) -> None:
    assert scripted["codes"] == [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
    ]


def test_rpc_counts_by_method_and_code_are_exact(scripted: dict[str, object]) -> None:
    handled = _samples(str(scripted["scrape"]), "grpc_server_handled_total")
    ours = {
        (dict(labels)["grpc_method"], dict(labels)["grpc_code"]): value
        for labels, value in handled.items()
        if dict(labels)["grpc_service"] == SERVICE
    }
    assert ours == {
        ("Optimize", "OK"): 2.0,
        ("Optimize", "INVALID_ARGUMENT"): 1.0,
        ("GetJob", "NOT_FOUND"): 1.0,
        ("GetJob", "UNAUTHENTICATED"): 1.0,
    }
    latency = _samples(str(scripted["scrape"]), "grpc_server_handling_seconds_count")
    counts = {dict(k)["grpc_code"]: v for k, v in latency.items() if dict(k)["grpc_method"]}
    assert counts["OK"] >= 2.0 and counts["INVALID_ARGUMENT"] == 1.0


def test_search_and_job_metrics(scripted: dict[str, object]) -> None:
    scrape = str(scripted["scrape"])
    responses = scripted["responses"]
    assert isinstance(responses, list)
    trials = sum(r.stats.trials for r in responses)
    assert _samples(scrape, "aalps_search_seconds_count") == {(): 2.0}
    assert _samples(scrape, "aalps_search_trials_total") == {(): float(trials)}
    assert _samples(scrape, "aalps_jobs") == {
        (("state", "queued"),): 0.0,
        (("state", "running"),): 0.0,
    }
    assert _samples(scrape, "aalps_job_queue_depth") == {(): 0.0}


def test_one_access_line_per_call_without_the_token(scripted: dict[str, object]) -> None:
    records = scripted["records"]
    assert isinstance(records, list)
    ours = [r.fields for r in records if r.fields["method"].startswith(f"/{SERVICE}/")]
    assert [(f["method"].rsplit("/", 1)[1], f["code"]) for f in ours] == [
        ("Optimize", "OK"),
        ("Optimize", "OK"),
        ("Optimize", "INVALID_ARGUMENT"),
        ("GetJob", "NOT_FOUND"),
        ("GetJob", "UNAUTHENTICATED"),
    ]
    alice = hashlib.sha256(b"alice").hexdigest()[:12]
    assert [f["owner"] for f in ours] == [alice, alice, alice, alice, "-"]
    assert ours[0]["request_bytes"] == scripted["request_bytes"]
    assert ours[2]["request_bytes"] == 0  # an empty OptimizeRequest
    assert all(f["duration_ms"] >= 0 for f in ours)
    lines = [JsonFormatter().format(r) for r in records] + [r.getMessage() for r in records]
    assert not any(TOKEN in line for line in lines)
    parsed = json.loads(JsonFormatter().format(records[0]))
    assert parsed["logger"] == ACCESS_LOGGER and parsed["owner"] in (alice, "-")
    assert {"time", "level", "message", "method", "code", "duration_ms"} <= set(parsed)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://aalps:s3cret@db:5432/aalps", "postgresql://aalps:***@db:5432/aalps"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("postgresql://u@h/db?password=s3cret&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///data/aalps.db", "sqlite:///data/aalps.db"),
    ],
)
def test_storage_passwords_are_masked(url: str, shown: str) -> None:
    assert masked_url(url) == shown


class _WrappingContext:
    """Stands for an OpenTelemetry-style context wrapper: records what the servicer calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def set_code(self, code: grpc.StatusCode) -> None:
        self.calls.append(("set_code", code))

    def set_details(self, details: str) -> None:
        self.calls.append(("set_details", details))

    async def abort(self, code: grpc.StatusCode, details: str, metadata: object) -> None:
        self.calls.append(("abort", (code, details, metadata)))
        raise grpc.aio.AbortError()


def test_errors_go_through_the_contexts_own_abort() -> None:
    """A wrapper that overrides ``set_code`` and ``abort`` (as OpenTelemetry's does) sees the
    real code, and the rich details still travel in the trailing metadata."""
    import asyncio

    from aalps.cost_models.errors import InvalidRequestError
    from aalps.server.status import abort_with, status_for

    context = _WrappingContext()
    error = InvalidRequestError.single("graph.name", "must not be empty")
    with pytest.raises(grpc.aio.AbortError):
        asyncio.run(abort_with(context, status_for(error)))  # type: ignore[arg-type]
    (_, code), (_, details), (_, (aborted, message, metadata)) = context.calls
    assert code == aborted == grpc.StatusCode.INVALID_ARGUMENT
    assert details == message and "graph.name" in str(message)
    keys = [key for key, _ in metadata]  # type: ignore[attr-defined]
    assert keys == ["grpc-status-details-bin"]
