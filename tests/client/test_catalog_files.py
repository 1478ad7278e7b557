"""Catalog files and ``--catalog``: one catalog for every request, in process and remote.

The oracle is the paper's k-task routing (DESIGN §2): with the per-variant specialist in the
catalog the plan routes, Θ(m_s·n); with the generalist alone it cannot, Θ(k·m_s·n). Which
bound comes back says which catalog was used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aalps.client.catalog_files import read_catalog_file, request_with_catalog, with_catalog
from aalps.client.cli import main
from aalps.client.errors import InvalidArgumentError

from tests.client.conftest import ServerProcess, example_data, write_yaml

ROUTED, UNROUTED = "m_s*n", "k*m_s*n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _routing() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(request without catalog, the full catalog, a generalist-only catalog)."""
    data = example_data("k_task_routing")
    full = data.pop("catalog")
    generalist = {"models": [m for m in full["models"] if m["name"] == "generalist"]}
    return data, full, generalist


def test_read_catalog_file_takes_both_shapes(tmp_path: Path) -> None:
    _, full, _ = _routing()
    plain = write_yaml(tmp_path / "plain.yaml", full)
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"catalog": full}), encoding="utf-8")
    assert read_catalog_file(plain) == full
    assert read_catalog_file(str(wrapped)) == full


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (None, "{f}", "no such catalog file"),
        ("- a\n- b\n", "{f}", "not a list"),
        ("name: x\n", "{f}: models", "is required"),
        ("catalog: 3\n", "{f}: catalog", "not a int"),
        ("models: [{name: a, sise: 3}]\n", "{f}: ", "sise"),
        ("models: [\n", "{f}", "not valid YAML"),
    ],
)
def test_bad_catalog_files_name_the_file_and_field(
    tmp_path: Path, content: str | None, field: str, words: str
) -> None:
    path = tmp_path / "cat.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidArgumentError) as caught:
        read_catalog_file(path)
    violation = caught.value.violations[0]
    assert violation.field.startswith(field.format(f=path))
    assert words in str(violation)


def test_with_catalog_replaces_or_adds_and_keeps_the_rest() -> None:
    request, full, generalist = _routing()
    added = with_catalog(request, generalist)
    assert added["catalog"] == generalist and added["graph"] == request["graph"]
    assert "catalog" not in request  # the caller's data is not changed
    replaced = with_catalog({**request, "catalog": full}, generalist)
    assert replaced["catalog"] == generalist
    message = request_with_catalog({**request, "catalog": full}, generalist)
    assert [m.name for m in message.catalog.models] == ["generalist"]


def test_optimize_uses_the_catalog_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request, full, generalist = _routing()
    bare = write_yaml(tmp_path / "bare.yaml", request)
    whole = write_yaml(tmp_path / "whole.yaml", {**request, "catalog": full})
    full_file = write_yaml(tmp_path / "full.yaml", full)
    gen_file = write_yaml(tmp_path / "gen.yaml", {"catalog": generalist})
    for source, catalog, bound in [
        (bare, full_file, ROUTED),  # the request has no catalog of its own
        (whole, gen_file, UNROUTED),  # its own catalog is replaced
    ]:
        argv = ["optimize", str(source), "--catalog", str(catalog), "--format", "json"]
        status, out, err = run(capsys, *argv)
        assert status == 0, err
        assert json.loads(out)["plan"]["bound"]["text"] == bound


def test_optimize_with_a_bad_catalog_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request, _, _ = _routing()
    bare = write_yaml(tmp_path / "bare.yaml", request)
    status, out, err = run(capsys, "optimize", str(bare), "--catalog", str(tmp_path / "no.yaml"))
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [f"error: {tmp_path / 'no.yaml'}: no such catalog file"]


def _batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, dict[str, Any]]:
    request, full, generalist = _routing()
    folder = tmp_path / "requests"
    folder.mkdir()
    write_yaml(folder / "bare.yaml", request)
    write_yaml(folder / "own.yaml", {**request, "catalog": full})
    catalog = write_yaml(tmp_path / "gen.yaml", generalist)
    status, out, err = run(capsys, "batch", str(folder), "--catalog", str(catalog), *extra)
    assert status == 0, err + out
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.result.json"))
    }


def test_batch_uses_one_catalog_for_every_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _batch(tmp_path, capsys, "--no-progress")
    assert set(results) == {"bare.result.json", "own.result.json"}
    assert {r["plan"]["bound"]["text"] for r in results.values()} == {UNROUTED}


def test_batch_sends_the_shared_catalog_to_a_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: ServerProcess
) -> None:
    results = _batch(tmp_path, capsys, "--no-progress", "--server", server.address)
    assert {r["plan"]["bound"]["text"] for r in results.values()} == {UNROUTED}


def test_the_python_clients_send_a_shared_catalog(server: ServerProcess) -> None:
    import asyncio

    from aalps.client import AsyncClient, Client

    request, full, generalist = _routing()
    requests = [request, {**request, "catalog": full}]
    with Client.remote(server.address, timeout=120) as aalps:
        items = list(aalps.batch(requests, catalog=generalist))
    assert sorted(i.index for i in items) == [0, 1]
    assert {i.report.plan.bound_text for i in items if i.report is not None} == {UNROUTED}

    async def scenario() -> set[str]:
        async with AsyncClient(server.address, timeout=120) as aalps:
            found = [item async for item in aalps.batch(requests, catalog=full)]
        return {i.report.plan.bound_text for i in found if i.report is not None}

    assert asyncio.run(scenario()) == {ROUTED}
