"""The ``aalps`` command, run in process (``main([...])``) and once as ``python -m aalps``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aalps.client.cli import main
from aalps.client.examples import examples

from tests.client.conftest import EXAMPLES, PAPER, ROOT, bad_request, example_data, write_yaml

EXAMPLE_NAMES = {
    "k_task_routing",
    "code_debugging",
    "evolutionary_optimization",
    "character_counting",
    "document_ranking",
    "cascade",
    "correlated_votes",
    "ensemble_votes",
    "tool_pipeline",
    "prompt_caching",
    "in_context_distillation",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("name", sorted(PAPER))
def test_optimize_json_is_the_response_message(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    status, out, err = run(capsys, "optimize", str(EXAMPLES / f"{name}.yaml"), "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    plan_bound, baseline_bound, expected = PAPER[name]
    assert data["plan"]["bound"]["text"] == plan_bound
    if baseline_bound is not None:
        assert data["baseline"]["bound"]["text"] == baseline_bound
    assert {s["role"]: s["text"] for s in data["separation"]} == expected
    assert {"plan", "baseline", "separation", "pareto_front", "crossovers", "stats"} <= set(data)
    task = data["plan"]["tasks"][0]
    assert {"task_id", "operator", "roles", "expected_cost", "success_probability"} <= set(task)
    assert "expected_cost" in data["plan"] and "success_probability" in data["plan"]
    assert err == ""  # no progress bar when stderr is not a terminal


def test_python_dash_m_aalps_is_the_entry_point() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aalps",
            "optimize",
            "examples/k_task_routing.yaml",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["plan"]["bound"]["text"] == "m_s*n"
    assert data["baseline"]["bound"]["text"] == "k*m_s*n"
    assert [s["text"] for s in data["separation"]] == ["k"]


@pytest.mark.parametrize(
    ("fmt", "plan_bound", "separation"),
    [
        ("table", "Θ(b*l**2*m_dev + k*l*m_qa)", "Θ(b*k**2)"),
        ("markdown", "Θ(`b*l**2*m_dev + k*l*m_qa`)", "Θ(`b*k**2`)"),
        ("latex", r"$\Theta\left(", r"\begin{tabular}"),
    ],
)
def test_human_formats_show_bounds(
    capsys: pytest.CaptureFixture[str], fmt: str, plan_bound: str, separation: str
) -> None:
    status, out, err = run(capsys, "optimize", "code_debugging", "--format", fmt)
    assert status == 0, err
    assert plan_bound in out and separation in out
    underscore = r"\_" if fmt == "latex" else "_"
    assert f"SCAN{underscore}AND{underscore}FIX" in out
    assert f"ITERATE{underscore}WITH{underscore}HISTORY" in out
    if fmt == "markdown":
        assert "| plan | task | operator |" in out
    if fmt == "latex":
        assert r"\end{tabular}" in out and "m_{dev}" in out


def test_table_lists_tasks_totals_separation_and_search(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "optimize", "k_task_routing.yaml")
    assert status == 0
    for text in (
        "Tasks",
        "Totals",
        "Separation",
        "Search",
        "ROUTE",
        "DIRECT",
        "Θ(m_s*n)",
        "Θ(k*m_s*n)",
        "whole plan  Θ(k)",
        "p95 cost",
        "delegator: d",
    ):
        assert text in out, text


def test_search_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "optimize",
        "k_task_routing",
        "--trials",
        "7",
        "--seed",
        "3",
        "--timeout",
        "30",
        "--format",
        "json",
    )
    assert status == 0, err
    assert json.loads(out)["plan"]["bound"]["text"] == "m_s*n"


def test_examples_lists_them_all(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "examples")
    assert status == 0
    lines = out.splitlines()
    assert {line.split()[0] for line in lines} == EXAMPLE_NAMES
    assert any("§3.1: k-task routing" in line for line in lines)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), "each has a description"


@pytest.mark.parametrize("name", ["code_debugging", "code_debugging.yaml"])
def test_examples_prints_one(capsys: pytest.CaptureFixture[str], name: str) -> None:
    status, out, _ = run(capsys, "examples", name)
    assert status == 0
    assert out == (EXAMPLES / "code_debugging.yaml").read_text(encoding="utf-8")


def test_unknown_example(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "examples", "nope")
    assert status == 2
    assert err.startswith("error: nope: no such built-in example")
    assert "k_task_routing" in err


def test_examples_match_the_folder() -> None:
    assert {e.name for e in examples()} == {p.stem for p in EXAMPLES.glob("*.yaml")}


def test_undefined_symbol_names_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_yaml(tmp_path / "bad.yaml", bad_request())
    status, out, err = run(capsys, "optimize", str(path))
    assert status == 2
    assert out == ""
    assert err.startswith("error: graph.tasks[0].input_tokens")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("graph: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("graph:\n  name: x\n  tasks: []\nsurprise: 1\n", "surprise"),
        ("cost_model: TELEPATHY\n", "TELEPATHY"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "request.yaml"
    if content is not None:
        path.write_text(content)
    status, out, err = run(capsys, "optimize", str(path))
    assert status == 2, err
    assert needle in err and err.startswith("error: ")
    assert "Traceback" not in err and out == ""


def test_bad_json_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text('{"graph": ')
    status, _, err = run(capsys, "optimize", str(path))
    assert status == 2 and "not valid JSON" in err and "line 1" in err


def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "optimize", "k_task_routing", "--server", "127.0.0.1:1")
    assert status == 1
    assert err.startswith("error: cannot reach the aalps server at 127.0.0.1:1")
    assert "Traceback" not in err and out == ""


def test_jobs_need_a_server(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["jobs", "list"])
    assert caught.value.code == 2
    assert "--server" in capsys.readouterr().err


def test_analyze_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "optimize", "code_debugging", "--format", "json")
    assert status == 0
    saved = tmp_path / "result.json"
    saved.write_text(out)
    status, out, err = run(
        capsys, "analyze", "code_debugging", "--plan", str(saved), "--format", "json"
    )
    assert status == 0, err
    data = json.loads(out)
    assert data["plan"]["bound"]["text"] == "b*l**2*m_dev + k*l*m_qa"
    assert {s["role"]: s["text"] for s in data["separation"]} == PAPER["code_debugging"][2]


def test_batch_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name in ("k_task_routing", "code_debugging", "evolutionary_optimization"):
        write_yaml(tmp_path / f"{name}.yaml", example_data(name))
    write_yaml(tmp_path / "broken.yaml", bad_request())
    status, out, err = run(capsys, "batch", str(tmp_path))
    assert status == 1, err
    results = sorted(p.name for p in tmp_path.glob("*.result.json"))
    assert results == [
        "broken.result.json",
        "code_debugging.result.json",
        "evolutionary_optimization.result.json",
        "k_task_routing.result.json",
    ]
    good = json.loads((tmp_path / "k_task_routing.result.json").read_text())
    assert good["plan"]["bound"]["text"] == "m_s*n"
    bad = json.loads((tmp_path / "broken.result.json").read_text())
    violations = bad["error"]["details"][0]["field_violations"]
    assert violations[0]["field"].startswith("graph.tasks[0].input_tokens")
    lines = out.splitlines()
    assert sum(line.startswith("ok ") for line in lines) == 3
    assert sum(line.startswith("failed ") for line in lines) == 1
    assert lines[-1] == "3 succeeded, 1 failed"
    assert any("graph.tasks[0].input_tokens" in line for line in lines)


def test_batch_out_dir_and_rerun_skips_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_yaml(inputs / "routing.yaml", example_data("k_task_routing"))
    (inputs / "routing.result.json").write_text("{}")  # an earlier result is not an input
    status, out, _ = run(capsys, "batch", str(inputs), "--out", str(tmp_path / "out"))
    assert status == 0
    assert (tmp_path / "out" / "routing.result.json").exists()
    assert out.splitlines()[-1] == "1 succeeded, 0 failed"


def test_crossovers_are_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """At a small scale point DIRECT wins; ROUTE overtakes it as n grows."""
    data = example_data("k_task_routing")
    data["graph"]["parameters"][0]["value"] = 10
    data["graph"]["parameters"][1]["value"] = 2
    path = write_yaml(tmp_path / "small.yaml", data)
    status, out, _ = run(capsys, "optimize", str(path))
    assert status == 0
    # DIRECT(generalist) costs k·m_s·n, ROUTE m_d·c + m_s·n: ROUTE wins as n and k grow.
    assert "Crossovers" in out and "the asymptotically optimal plan is cheaper beyond scale" in out
    status, out, _ = run(capsys, "optimize", str(path), "--format", "latex")
    assert r"$\approx$" in out and "≈" not in out


def test_no_crossover_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "optimize", "k_task_routing")
    assert status == 0
    assert "none  no other plan overtakes" in out


def test_pareto_front_is_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = example_data("character_counting")
    data["search"] = {"objectives": ["COST", "LATENCY"]}
    path = write_yaml(tmp_path / "pareto.yaml", data)
    status, out, _ = run(capsys, "optimize", str(path), "--format", "json")
    assert status == 0
    front = json.loads(out)["pareto_front"]
    assert len(front) > 1
    status, out, _ = run(capsys, "optimize", str(path))
    assert f"pareto {len(front)}" in out
