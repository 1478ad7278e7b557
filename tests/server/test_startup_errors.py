"""``aalps serve`` start-up failures: exit status 2 and one stderr line saying what to do.

Each case runs the real command in a subprocess and checks the whole of stderr. A missing
``psycopg`` is simulated by a ``sys.modules`` entry that makes its import fail.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.server.conftest import NO_POSTGRES, POSTGRES_URL, ROOT

#: The fewest processes a server runs with (start-up time on a busy machine).
ONE_EACH = ("--workers", "1", "--validation-workers", "1")
#: Runs the ``aalps`` command with ``psycopg`` unimportable, as without the postgres extra.
WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; "
    "from aalps.client.cli import main; raise SystemExit(main())"
)


def _serve(*argv: str, code: str | None = None, timeout: float = 120) -> tuple[int, str]:
    command = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "aalps"]
    if not code:
        command += list(argv)
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stderr


def _one_line(stderr: str) -> str:
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr.strip()


def test_postgres_without_the_driver_says_what_to_install() -> None:
    url = "postgresql://aalps:s3cret@127.0.0.1:5432/aalps"
    status, stderr = _serve("serve", "--port", "0", "--storage", url, code=WITHOUT_PSYCOPG)
    line = _one_line(stderr)
    assert status == 2
    assert "pip install 'aalps[postgres]'" in line
    assert "s3cret" not in line and "postgresql://aalps:***@127.0.0.1:5432/aalps" in line


def test_an_unsupported_storage_url() -> None:
    status, stderr = _serve("serve", "--storage", "mysql://u:pw@db/aalps")
    line = _one_line(stderr)
    assert status == 2
    assert line.startswith("aalps serve: unsupported storage URL 'mysql://u:***@db/aalps'")
    assert "sqlite:///FILE" in line and "postgresql://" in line


def test_a_missing_sqlite_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "aalps.db"
    status, stderr = _serve("serve", "--port", "0", "--storage", f"sqlite:///{missing}")
    assert status == 2
    assert f"the folder {missing.parent} does not exist" in _one_line(stderr)


@pytest.mark.parametrize("flag", ["--port", "--metrics-port"])
def test_a_port_in_use(tmp_path: Path, flag: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ports = ["--port", str(port)] if flag == "--port" else ["--port", "0", flag, str(port)]
        storage = f"sqlite:///{tmp_path / 'aalps.db'}"
        status, stderr = _serve("serve", *ports, "--storage", storage)
    line = _one_line(stderr)
    assert status == 2
    assert f"cannot listen on 127.0.0.1:{port}" in line and "address already in use" in line
    assert line.endswith(f"choose another with {flag}")


class _Served:
    """``aalps serve`` in a subprocess; its stderr collected by a thread."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aalps", "serve", "--port", "0", "--grace-seconds", "1", *argv],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.errors: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.match(r"listening on (\S+:\d+)", line)
        assert match, f"no address: {line!r} {self.errors}"
        self.address = match.group(1)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line)

    def stop(self) -> list[str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        return self.errors


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[_Served]:
    served = _Served(
        "--storage", f"sqlite:///{tmp_path / 'aalps.db'}", "--log-format", "json", *ONE_EACH
    )
    yield served
    if served.process.poll() is None:
        served.stop()


def test_json_logs_one_object_a_line(json_server: _Served) -> None:
    with grpc.insecure_channel(json_server.address) as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=20)
    entries = [json.loads(line) for line in json_server.stop()]  # every line is JSON
    start = next(e for e in entries if e["message"].startswith("serving on"))
    assert "(plaintext, storage sqlite:///" in start["message"]
    access = [e for e in entries if e["logger"] == "aalps.access"]
    assert [(e["method"], e["code"]) for e in access] == [("/grpc.health.v1.Health/Check", "OK")]
    assert access[0]["owner"] == "-" and access[0]["request_bytes"] == 0


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
def test_the_start_up_line_masks_the_storage_password() -> None:
    assert POSTGRES_URL is not None
    # the test database trusts local connections: the password is never checked
    url = re.sub(r"^(\w[\w+]*://)([^:@/]+)@", r"\1\2:pa55word@", POSTGRES_URL)
    assert ":pa55word@" in url
    served = _Served("--storage", url, "--table-prefix", "ops13_mask_", *ONE_EACH)
    lines = served.stop()
    text = "".join(lines)
    assert "pa55word" not in text
    assert any("serving on" in line and ":***@" in line for line in lines), lines
