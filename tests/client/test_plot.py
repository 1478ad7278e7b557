"""``aalps plot`` and the markdown Mermaid diagram (issue 12, acceptance 4).

The document-ranking example has a plan, a baseline, an asymptotic plan and one crossover.
The SVG names one series per plan; the log-log slope of each plotted series between its
last points equals the degree of its Θ bound along the scale ray (read off by hand from the
bounds the result prints: every growing parameter scales with s); the crossover is drawn
at the abscissa the result reports, where the plan's and the asymptotic plan's costs meet.
"""

from __future__ import annotations

import builtins
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from aalps.client import Client
from aalps.client.cli import main
from aalps.client.inputs import read_data
from aalps.client.mermaid import plan_flowchart
from aalps.client.plots import figure, slope
from aalps.client.reports import PlanReport, RoleReport, TaskReport
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.proto.convert import plan_from_proto

#: The bounds of document_ranking's plans, and their degree in s when k and l scale by s.
DEGREES = {"k*l*m_scorer": 2, "k**2*l*m_frontier": 3}


@pytest.fixture(scope="module")
def ranking() -> Any:
    with Client.in_process() as client:
        report = client.optimize("document_ranking")
    _, data = read_data("document_ranking")
    return load_request(data), report


def test_svg_has_one_series_per_plan_and_the_crossover(tmp_path: Path, ranking: Any) -> None:
    _, report = ranking
    result = tmp_path / "ranking.result.json"
    result.write_text(json.dumps(report.to_dict()))
    out = tmp_path / "ranking.svg"
    assert main(["plot", str(result), "--request", "document_ranking", "--out", str(out)]) == 0
    ids = [g.get("id") for g in ET.parse(out).iter("{http://www.w3.org/2000/svg}g")]
    series = sorted(i for i in ids if i and i.startswith("series-"))
    assert series == ["series-asymptotic", "series-baseline", "series-plan"]
    assert [i for i in ids if i and i.startswith("crossover-")] == ["crossover-0"]


def test_slopes_equal_the_bounds_degrees_and_the_crossover_sits_where_reported(
    ranking: Any,
) -> None:
    request, report = ranking
    message = report.message
    plans = [
        ("plan", plan_from_proto(message.plan)),
        ("baseline", plan_from_proto(message.baseline)),
        ("asymptotic", plan_from_proto(message.asymptotic_plan)),
    ]
    bounds = {
        "plan": message.plan.bound.text,
        "baseline": message.baseline.bound.text,
        "asymptotic": message.asymptotic_plan.bound.text,
    }
    (crossover,) = message.crossovers
    fig, series = figure(request, plans, crossovers=[(crossover.scale, crossover.at, "x")])
    for item in series:
        assert slope(item) == pytest.approx(DEGREES[bounds[item.name]], abs=0.02), item.name
    # the plotted line is the series (the figure draws what the series holds)
    lines = {line.get_gid(): line for line in fig.axes[0].get_lines()}
    assert list(lines["series-plan"].get_xdata()) == list(series[0].x)
    marker = lines["crossover-0"]
    assert list(marker.get_xdata()) == [crossover.at, crossover.at]
    evaluator = PlanEvaluator(request, scale=crossover.scale)
    # document_ranking minimizes the cost of a correct result: the plotted figure
    here = evaluator.outcome(plans[0][1]).cost_of_pass
    there = evaluator.outcome(plans[2][1]).cost_of_pass
    assert here == pytest.approx(there, rel=1e-4)


def test_missing_matplotlib_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = builtins.__import__

    def refuse(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    assert main(["plot", "document_ranking", "--out", str(tmp_path / "x.svg")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: aalps plot needs matplotlib: pip install 'aalps[plot]'"]


def test_bad_output_suffix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", "document_ranking", "--out", "x.gif"]) == 2
    assert "--out" in capsys.readouterr().err


def _task(task_id: str, operator: str, *roles: tuple[str, str, int]) -> TaskReport:
    return TaskReport(
        task_id,
        operator,
        tuple(RoleReport(*r) for r in roles),
        {},
        "",
        0.0,
        1.0,
        0.0,
    )


def test_mermaid_nodes_and_edges_of_a_small_plan() -> None:
    plan = PlanReport(
        tasks=(
            _task("find", "DIRECT", ("worker", "small", 1)),
            _task("fix", "GLOBAL_RETRY", ("worker", "big", 3), ("verifier", "small", 1)),
        ),
        cost="",
        expected_cost=0.0,
        success_probability=1.0,
        latency=0.0,
        cost_p95=0.0,
        bound_text="",
        bound_latex="",
    )
    assert plan_flowchart(plan, [("find", "fix")]) == (
        "flowchart LR\n"
        '  t_find["find: DIRECT"]\n'
        '  t_find__worker(["worker: small"])\n'
        "  t_find --- t_find__worker\n"
        '  t_fix["fix: GLOBAL_RETRY"]\n'
        '  t_fix__worker(["worker: big x3"])\n'
        "  t_fix --- t_fix__worker\n"
        '  t_fix__verifier(["verifier: small"])\n'
        "  t_fix --- t_fix__verifier\n"
        "  t_find --> t_fix\n"
    )


def test_markdown_report_embeds_the_topology(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "k_task_routing", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "```mermaid\nflowchart LR\n" in text
    assert "Stability" in text


def test_a_saved_result_finds_its_request_beside_it(tmp_path: Path) -> None:
    from aalps.client.commands.plot import _sibling_request
    from aalps.client.errors import InvalidArgumentError

    (tmp_path / "flow.yaml").write_text("graph: {}\n")
    (tmp_path / "flow.result.json").write_text("{}")
    assert _sibling_request(str(tmp_path / "flow.result.json")) == str(tmp_path / "flow.yaml")
    with pytest.raises(InvalidArgumentError, match="--request"):
        _sibling_request(str(tmp_path / "other.result.json"))


def test_a_pareto_front_is_a_scatter_in_its_own_panel(tmp_path: Path) -> None:
    from aalps.optimizer import baseline_plan

    _, data = read_data("document_ranking")
    request = load_request(data)
    plan = baseline_plan(PlanEvaluator(request))
    fig, series = figure(request, [("plan", plan)], pareto=[(1.0, 0.9), (3.0, 0.99)])
    assert [s.name for s in series] == ["plan"]
    (points,) = [c for c in fig.axes[1].collections if c.get_gid() == "pareto-front"]
    assert [tuple(p) for p in points.get_offsets()] == [(1.0, 0.9), (3.0, 0.99)]
    out = tmp_path / "front.svg"
    fig.savefig(out)
    ids = {g.get("id") for g in ET.parse(out).iter("{http://www.w3.org/2000/svg}g")}
    assert {"series-plan", "pareto-front"} <= ids
