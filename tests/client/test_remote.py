"""Against a real server only: auth, the async client, the CLI's --server paths, serve."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aalps.client import (
    AsyncClient,
    Client,
    InvalidArgumentError,
    JobState,
    NotFoundError,
    UnauthenticatedError,
)
from aalps.client.cli import main

from tests.client.conftest import (
    PAPER,
    TOKENS,
    ServerProcess,
    bad_request,
    example_data,
    long_request,
    separations,
    server_ready,
    write_yaml,
)

# -- auth -----------------------------------------------------------------------------------


def test_no_token_is_unauthenticated(auth_server: ServerProcess) -> None:
    with Client.remote(auth_server.address) as client, pytest.raises(UnauthenticatedError):
        client.optimize("k_task_routing")


def test_wrong_token_is_unauthenticated(auth_server: ServerProcess) -> None:
    with (
        Client.remote(auth_server.address, token="guess") as client,
        pytest.raises(UnauthenticatedError),
    ):
        client.list_jobs().__next__()


def test_callers_see_only_their_own_jobs(auth_server: ServerProcess) -> None:
    with (
        Client.remote(auth_server.address, token=TOKENS["alice"]) as alice,
        Client.remote(auth_server.address, token=TOKENS["bob"]) as bob,
    ):
        job = alice.submit("k_task_routing")
        assert alice.get_job(job.job_id).job_id == job.job_id
        with pytest.raises(NotFoundError):
            bob.get_job(job.job_id)
        with pytest.raises(NotFoundError):
            bob.cancel(job.job_id)
        assert job.job_id not in {j.job_id for j in bob.list_jobs()}
        assert job.job_id in {j.job_id for j in alice.list_jobs()}


def test_cli_token_from_environment(
    auth_server: ServerProcess, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("AALPS_TOKEN", TOKENS["alice"])
    status = main(["jobs", "list", "--server", auth_server.address, "--format", "json"])
    assert status == 0
    assert "jobs" in json.loads(capsys.readouterr().out)
    monkeypatch.delenv("AALPS_TOKEN")
    status = main(["jobs", "list", "--server", auth_server.address])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "AALPS_TOKEN" in err


# -- async client ---------------------------------------------------------------------------


def test_async_client(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient(server.address, timeout=120) as aalps:
            report = await aalps.optimize("code_debugging")
            assert separations(report) == PAPER["code_debugging"][2]
            job = await aalps.submit("k_task_routing")
            snapshots = [s async for s in aalps.watch(job.job_id)]
            assert snapshots[-1].state is JobState.SUCCEEDED
            assert snapshots[-1].result is not None
            assert snapshots[-1].result.plan.bound_text == "m_s*n"
            assert job.job_id in {j.job_id async for j in aalps.list_jobs(page_size=1)}
            items = [item async for item in aalps.batch(["k_task_routing", bad_request()])]
            assert sorted(i.index for i in items) == [0, 1]
            with pytest.raises(InvalidArgumentError):
                await aalps.optimize(bad_request())

    asyncio.run(scenario())


# -- the CLI against a server ---------------------------------------------------------------


def test_cli_optimize_remote_matches_in_process(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for extra in ([], ["--server", server.address]):
        assert main(["optimize", "evolutionary_optimization", "--format", "json", *extra]) == 0
        data = json.loads(capsys.readouterr().out)
        data.pop("stats")
        outputs.append(data)
    assert outputs[0] == outputs[1]


def test_cli_jobs(
    server: ServerProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    address = ["--server", server.address]
    assert main(["jobs", "submit", "k_task_routing", "--watch", "--format", "json", *address]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["state"] == "SUCCEEDED"
    assert job["result"]["plan"]["bound"]["text"] == "m_s*n"
    assert main(["jobs", "get", job["job_id"], *address]) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out and "Θ(m_s*n)" in out
    assert main(["jobs", "list", "--page-size", "1", "--limit", "3", *address]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = lines[lines.index(next(x for x in lines if x.startswith("---"))) + 1 :]
    assert rows[0].startswith(job["job_id"]), "newest first"
    assert 1 <= len(rows) <= 3
    assert main(["jobs", "get", "missing-job", *address]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    long = write_yaml(tmp_path / "long.yaml", long_request())
    assert main(["jobs", "submit", str(long), "--format", "json", *address]) == 0
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    assert main(["jobs", "cancel", job_id, *address]) == 0
    assert job_id in capsys.readouterr().out
    assert main(["jobs", "watch", job_id, *address]) == 0
    assert "CANCELLED" in capsys.readouterr().out


def test_cli_batch_remote(
    server: ServerProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_yaml(tmp_path / "routing.yaml", example_data("k_task_routing"))
    write_yaml(tmp_path / "broken.yaml", bad_request())
    status = main(["batch", str(tmp_path), "--server", server.address])
    assert status == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "1 succeeded, 1 failed"
    bad = json.loads((tmp_path / "broken.result.json").read_text())
    assert "graph.tasks[0]" in json.dumps(bad["error"])


def test_aalps_serve(tmp_path: Path) -> None:
    """``aalps serve`` starts a server that answers, and stops cleanly on SIGTERM."""
    if not server_ready():
        pytest.skip("the server package is not there yet")
    served = ServerProcess(
        f"sqlite:///{tmp_path / 'serve.db'}", ["--workers", "1"], module=("aalps", "serve")
    )
    try:
        with Client.remote(served.address, timeout=120) as client:
            assert client.optimize("k_task_routing").plan.bound_text == "m_s*n"
    finally:
        served.stop()
    assert served.process.returncode == 0


def test_cli_batch_as_jobs_matches_the_one_call_batch(
    server: ServerProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("k_task_routing", "code_debugging"):
        write_yaml(tmp_path / f"{name}.yaml", example_data(name))
    write_yaml(tmp_path / "broken.yaml", bad_request())
    one_call, as_jobs = tmp_path / "one", tmp_path / "jobs"
    assert main(["batch", str(tmp_path), "--server", server.address, "--out", str(one_call)]) == 1
    argv = ["batch", str(tmp_path), "--server", server.address, "--jobs", "--out", str(as_jobs)]
    assert main(argv) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "2 succeeded, 1 failed"
    for name in ("k_task_routing", "code_debugging"):
        want = json.loads((one_call / f"{name}.result.json").read_text())["plan"]
        got = json.loads((as_jobs / f"{name}.result.json").read_text())["plan"]
        assert got["expected_cost"] == pytest.approx(want["expected_cost"])
        assert got["tasks"] == want["tasks"]
    bad = json.loads((as_jobs / "broken.result.json").read_text())
    assert bad["error"]["code"] == 3  # INVALID_ARGUMENT, its field named within the request
    assert "graph.tasks[0]" in json.dumps(bad["error"]) and "request." not in json.dumps(bad)


def test_cli_batch_as_jobs_needs_a_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_yaml(tmp_path / "routing.yaml", example_data("k_task_routing"))
    assert main(["batch", str(tmp_path), "--jobs"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --jobs: needs --server (jobs live in a server's store)"
    )
