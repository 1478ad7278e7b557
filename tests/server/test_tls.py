"""TLS and mTLS ports: round trips, refused clients, and a plaintext client's clean failure.

The certificates are made at test time (:mod:`tests.server.certs`). A TLS server and an mTLS
server (client certificates required) each run once for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aalps.client import Client
from aalps.client.channels import TlsOptions, channel_credentials
from aalps.client.cli import main
from aalps.client.errors import NotFoundError, UnavailableError
from aalps.server.config import ServerConfig
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.server.certs import Pki, make_pki
from tests.server.conftest import ServerThread


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _server(folder: Path, pki: Pki, *, mutual: bool) -> ServerThread:
    return ServerThread(
        ServerConfig(
            port=0,
            storage=f"sqlite:///{folder / 'aalps.db'}",
            workers=1,
            validation_workers=1,
            grace_seconds=1.0,
            tls_cert=str(pki.server_cert),
            tls_key=str(pki.server_key),
            tls_client_ca=str(pki.ca) if mutual else None,
        )
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[ServerThread]:
    server = _server(tmp_path_factory.mktemp("tls"), pki, mutual=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[ServerThread]:
    server = _server(tmp_path_factory.mktemp("mtls"), pki, mutual=True)
    yield server
    server.stop()


def _health(address: str, credentials: grpc.ChannelCredentials | None) -> int:
    if credentials is None:
        channel = grpc.insecure_channel(address)
    else:
        channel = grpc.secure_channel(address, credentials)
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status)


def test_tls_round_trip(tls_server: ServerThread, pki: Pki) -> None:
    credentials = channel_credentials(TlsOptions(ca=str(pki.ca)))
    assert _health(tls_server.address, credentials) == health_pb2.HealthCheckResponse.SERVING
    with Client.remote(tls_server.address, credentials=credentials, timeout=60) as aalps:
        report = aalps.optimize("k_task_routing")
        with pytest.raises(NotFoundError):
            aalps.get_job("no-such-job")
    # k-task routing (paper §3.1): route each of the k tasks to the smallest capable model
    assert report.plan.bound_text.replace(" ", "") == "m_s*n"


def test_a_server_signed_by_another_ca_is_refused(tls_server: ServerThread, pki: Pki) -> None:
    credentials = channel_credentials(TlsOptions(ca=str(pki.other_ca)))
    with Client.remote(tls_server.address, credentials=credentials, timeout=20) as aalps:
        with pytest.raises(UnavailableError):
            aalps.get_job("x")


def test_mtls_round_trip(mtls_server: ServerThread, pki: Pki) -> None:
    tls = TlsOptions(ca=str(pki.ca), cert=str(pki.client_cert), key=str(pki.client_key))
    with Client.remote(mtls_server.address, credentials=channel_credentials(tls)) as aalps:
        with pytest.raises(NotFoundError):  # the call reached the servicer
            aalps.get_job("no-such-job", timeout=20)
        assert aalps.optimize("k_task_routing", timeout=60).plan.bound_text


def test_mtls_refuses_a_client_without_a_certificate(mtls_server: ServerThread, pki: Pki) -> None:
    credentials = channel_credentials(TlsOptions(ca=str(pki.ca)))
    with pytest.raises(grpc.RpcError) as caught:
        _health(mtls_server.address, credentials)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_plaintext_client_fails_cleanly(
    tls_server: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _health(tls_server.address, None)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    status = main(["jobs", "get", "some-id", "--server", tls_server.address])
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith(f"error: cannot reach the aalps server at {tls_server.address}")


def test_cli_tls_flags_reach_the_server(
    mtls_server: ServerThread, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--server", mtls_server.address, "--tls-ca", str(pki.ca)]
    flags += ["--tls-cert", str(pki.client_cert), "--tls-key", str(pki.client_key)]
    assert main(["jobs", "get", "no-such-job", *flags]) == 1
    err = capsys.readouterr().err
    assert "no-such-job" in err and "cannot reach" not in err  # NOT_FOUND from the servicer


def test_cli_names_a_bad_tls_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.pem"
    assert main(["jobs", "get", "x", "--server", "h:1", "--tls-ca", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --tls-ca: cannot read") and err.count("\n") == 1
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("hello", encoding="utf-8")
    assert main(["jobs", "get", "x", "--server", "h:1", "--tls-ca", str(not_pem)]) == 2
    assert "is not a PEM file" in capsys.readouterr().err
    assert main(["jobs", "get", "x", "--server", "h:1", "--tls-cert", str(not_pem)]) == 2
    assert "--tls-key" in capsys.readouterr().err
