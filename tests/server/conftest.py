"""Real servers on loopback ports: in a background thread, or as a subprocess.

One server (two search processes, an SQLite file) is shared by the whole session: its
processes take a couple of seconds to start, and the tests must not share state beyond
what they create themselves (each checks its own jobs). Tests that need another
configuration (auth) or a process to kill start their own.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.proto.convert import dict_to_proto
from aalps.server.app import AalpsServer, make_server
from aalps.server.config import ServerConfig

from tests.conftest import example_data

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("AALPS_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "AALPS_TEST_POSTGRES_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)
MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MESSAGE_BYTES),
]

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts and kills server processes (a few seconds)")


# --- requests -----------------------------------------------------------------------------


def example_request(name: str) -> pb.OptimizeRequest:
    """``examples/<name>.yaml`` as the wire message."""
    message = dict_to_proto(example_data(name), pb.OptimizeRequest())
    assert isinstance(message, pb.OptimizeRequest)
    return message


def slow_request(tasks: int = 4, n_trials: int = 100_000, seed: int = 1) -> pb.OptimizeRequest:
    """A request whose search runs ``n_trials`` Optuna trials, reporting after each.

    Two objectives (cost and latency) over a joint space too large to enumerate send the
    optimizer to NSGA-II (which has no early stop), and a success floor couples the tasks.
    With 4 tasks a trial costs ~2-5 ms, in a job too (the search runs on an in-memory study
    copied to the job's at checkpoints): a job with ``n_trials=3000`` runs several seconds
    with steady progress.
    """
    message = pb.OptimizeRequest()
    graph = message.graph
    graph.name = "slow"
    for name, value in (("k", 40), ("l", 200), ("b", 5)):
        graph.parameters.add(name=name, value=value)
    for i in range(tasks):
        task = graph.tasks.add(
            id=f"t{i}", capability="fix", input_tokens="k*l", output_tokens="k*l"
        )
        task.role_capabilities["detector"] = "find"
        task.blocks.count, task.blocks.size = "k", "l"
        task.defects.count = "b"
        if i:
            graph.edges.add(source=f"t{i - 1}", target=f"t{i}", tokens="l")
    for j, reliability in enumerate((0.999, 0.99, 0.97, 0.95)):
        model = message.catalog.models.add(name=f"m{j}", size=str(10 ** (9 - j)))
        model.capabilities["fix"] = reliability
        model.capabilities["find"] = reliability
    message.constraints.min_success_probability = 0.6
    message.search.n_trials = n_trials
    message.search.seed = seed
    message.search.objectives.extend([pb.COST, pb.LATENCY])
    return message


# --- an in-process server -----------------------------------------------------------------


class ServerThread:
    """An :class:`AalpsServer` on its own event loop in a daemon thread."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: AalpsServer = self.call(self._start())
        self.address = f"127.0.0.1:{self.server.port}"

    async def _start(self) -> AalpsServer:
        server = make_server(self.config)
        await server.start()
        return server

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self, grace: float = 1.0) -> None:
        self.call(self.server.stop(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address, options=CHANNEL_OPTIONS)


@pytest.fixture(scope="session")
def server_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server") / "aalps.db"


@pytest.fixture(scope="session")
def running_server(server_db: Path) -> Iterator[ServerThread]:
    config = ServerConfig(
        port=0, storage=f"sqlite:///{server_db}", workers=2, batch_workers=4, grace_seconds=1.0
    )
    server = ServerThread(config)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def channel(running_server: ServerThread) -> Iterator[grpc.Channel]:
    with running_server.channel() as channel:
        yield channel


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> aalps_pb2_grpc.AalpsServiceStub:
    return aalps_pb2_grpc.AalpsServiceStub(channel)


# --- a server subprocess ------------------------------------------------------------------


class ServerProcess:
    """``python -m aalps.server`` as a child process; ``address`` once it printed its port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        command = [
            sys.executable,
            "-m",
            "aalps.server",
            "--port",
            "0",
            "--grace-seconds",
            "1",
            *args,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # a SIGKILL goes to the server alone, as in a crash
        )
        self.address = self._read_address(timeout=60.0)

    def _read_address(self, timeout: float) -> str:
        found: list[str] = []

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                match = re.match(r"listening on (\S+:\d+)", line)
                if match:
                    found.append(match.group(1))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.kill()
            raise RuntimeError("the server subprocess did not report its address")
        return found[0]

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address, options=CHANNEL_OPTIONS)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets to clean up."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def wait_for(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate()`` until it returns something truthy; fail after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
