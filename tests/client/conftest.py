"""Fixtures of the client tests: request files, an in-process client, a real server.

The server runs as a subprocess (``python -m aalps.server --port 0``) on a loopback port, as a
user would start it; tests that need it are skipped while the server package is missing.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aalps.client import Client

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PAPER = {
    "k_task_routing": ("m_s*n", "k*m_s*n", {"": "k"}),
    "code_debugging": (
        "b*l**2*m_dev + k*l*m_qa",
        None,
        {"m_qa": "b**2", "m_dev": "b*k**2"},
    ),
    "evolutionary_optimization": ("k*l**2*m_u", None, {"": "2**k*k"}),
}
TOKENS = {"alice": "alice-secret-token", "bob": "bob-secret-token"}


def example_data(name: str) -> dict[str, Any]:
    with open(EXAMPLES / f"{name}.yaml", encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def bad_request() -> dict[str, Any]:
    """k_task_routing with an undefined symbol in the first task's input size."""
    data = example_data("k_task_routing")
    data["graph"]["tasks"][0]["input_tokens"] = "n*zz"
    return data


def long_request() -> dict[str, Any]:
    """A search that runs until cancelled, however fast the planner gets.

    Two objectives (cost and latency) over a joint space too large to enumerate send the
    optimizer to NSGA-II, which has no early stop, for 100,000 trials of a few milliseconds
    each under a success floor that couples the tasks (``tests/server/conftest.slow_request``
    as request data). A request that was merely large stopped being long: the 40 alike tasks
    this used to be came to finish in 0.2 s, before a test could cancel them.
    """
    tasks = [
        {
            "id": f"t{i}",
            "capability": "fix",
            "input_tokens": "k*l",
            "output_tokens": "k*l",
            "role_capabilities": {"detector": "find"},
            "blocks": {"count": "k", "size": "l"},
            "defects": {"count": "b"},
        }
        for i in range(4)
    ]
    models = [
        {"name": f"m{j}", "size": str(10 ** (9 - j)), "capabilities": {"fix": p, "find": p}}
        for j, p in enumerate((0.999, 0.99, 0.97, 0.95))
    ]
    return {
        "graph": {
            "name": "long",
            "parameters": [
                {"name": "k", "value": 40},
                {"name": "l", "value": 200},
                {"name": "b", "value": 5},
            ],
            "tasks": tasks,
            "edges": [{"source": f"t{i - 1}", "target": f"t{i}", "tokens": "l"} for i in (1, 2, 3)],
        },
        "catalog": {"models": models},
        "constraints": {"min_success_probability": 0.6},
        "search": {
            "n_trials": 100000,
            "timeout_seconds": 600,
            "seed": 1,
            "objectives": ["COST", "LATENCY"],
        },
    }


def separations(report: Any) -> dict[str, str]:
    return {s.role: s.text for s in report.separation}


@pytest.fixture(scope="session")
def local_client() -> Iterator[Client]:
    with Client.in_process() as client:
        yield client


def server_ready() -> bool:
    return importlib.util.find_spec("aalps.server.app") is not None and (
        importlib.util.find_spec("aalps.server.__main__") is not None
    )


class ServerProcess:
    """``python -m aalps.server`` (or ``python -m aalps serve``) on a free loopback port, stopped
    with SIGTERM."""

    def __init__(
        self, storage: str, extra: list[str], *, module: tuple[str, ...] = ("aalps.server",)
    ) -> None:
        command = [sys.executable, "-m", *module, "--port", "0", "--storage", storage, *extra]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.address = self._wait_for_address()

    def _wait_for_address(self, seconds: float = 60.0) -> str:
        assert self.process.stdout is not None
        end = time.monotonic() + seconds
        seen = []
        while time.monotonic() < end:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            if "listening on" in line:
                return line.rsplit("listening on", 1)[1].strip()
        self.stop()
        raise RuntimeError("server did not start:\n" + "".join(seen))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """An aalps server without auth."""
    if not server_ready():
        pytest.skip(
            "the server package (aalps.server.app, python -m aalps.server) is not there yet"
        )
    folder = tmp_path_factory.mktemp("server")
    process = ServerProcess(f"sqlite:///{folder / 'a.db'}", [])
    yield process
    process.stop()


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """An aalps server with bearer-token auth (alice and bob)."""
    if not server_ready():
        pytest.skip(
            "the server package (aalps.server.app, python -m aalps.server) is not there yet"
        )
    folder = tmp_path_factory.mktemp("auth-server")
    tokens = folder / "tokens.txt"
    tokens.write_text("".join(f"{name}: {token}\n" for name, token in TOKENS.items()))
    process = ServerProcess(f"sqlite:///{folder / 'a.db'}", ["--auth-token-file", str(tokens)])
    yield process
    process.stop()


@pytest.fixture(scope="session")
def remote_client(server: ServerProcess) -> Iterator[Client]:
    with Client.remote(server.address, timeout=120) as client:
        yield client


@pytest.fixture(params=["in_process", "remote"])
def client(request: pytest.FixtureRequest) -> Client:
    """The same tests against the in-process backend and a real server."""
    name = "local_client" if request.param == "in_process" else "remote_client"
    result: Client = request.getfixturevalue(name)
    return result
