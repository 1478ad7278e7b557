"""What-if over a catalog of workflows (issue 12, acceptance 2).

Thirty small random workflows and random price changes: the what-if report equals
re-running every workflow on a catalog changed by hand in the request data (the oracle does
not use the what-if's own catalog code), and a workflow is listed as changed exactly when
its plan's choices differ.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from aalps.client import Client
from aalps.client.cli import main
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto
from aalps.server import workers
from aalps.server.config import ServerConfig
from aalps.server.whatif import catalogs, unaffected

from tests.optimizer.random_requests import random_request_data

FIELDS = ("price_per_input_token", "price_per_output_token", "size")


def _workflows(n: int) -> list[dict[str, Any]]:
    return [random_request_data(seed, max_joint=2_000) for seed in range(100, 100 + n)]


def _changed_by_hand(data: dict[str, Any], changes: list[tuple[str, str, float]]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for model in out["catalog"]["models"]:
        for name, field, factor in changes:
            if model["name"] == name:
                model[field] = model[field] * factor
    return out


def _choices(plan: Any) -> list[tuple[Any, ...]]:
    return [
        (t.task_id, str(t.operator), tuple((r.role, r.model, r.votes) for r in t.roles), t.params)
        for t in plan.tasks
    ]


def _proto_choices(plan: pb.Plan) -> list[tuple[Any, ...]]:
    return [
        (
            t.task_id,
            pb.Operator.Name(t.operator),
            tuple((r.role, r.model, max(1, r.votes)) for r in t.roles),
            tuple(sorted(t.params.items())),
        )
        for t in plan.tasks
    ]


def test_the_report_equals_rerunning_every_workflow() -> None:
    rng = random.Random(1)
    workflows = _workflows(30)
    # Prices of m0..m3 (every workflow has them) move: some up, some down.
    changes = [
        (f"m{rng.randrange(4)}", rng.choice(FIELDS), rng.choice((0.2, 0.5, 3.0, 10.0)))
        for _ in range(2)
    ]
    request = pb.WhatIfRequest(names=[f"w{i}" for i in range(len(workflows))])
    for data in workflows:
        dict_to_proto(data, request.requests.add())
    for name, field, factor in changes:
        request.changes.add(model=name, field=field, factor=factor)
    with Client.in_process() as client:
        entries = list(client.what_if(request))
    assert [e.index for e in entries] == list(range(len(workflows)))
    changed = 0
    for entry, data in zip(entries, workflows, strict=True):
        assert not entry.HasField("error")
        after = optimize(load_request(_changed_by_hand(data, changes))).plan
        assert _proto_choices(entry.after) == _choices(after.plan)
        assert entry.cost_after == pytest.approx(after.outcome.expected_cost, rel=1e-12)
        assert entry.changed is (_proto_choices(entry.before) != _choices(after.plan))
        changed += entry.changed
    assert 0 < changed < len(workflows)  # the draw moves some plans, not all


def _priced_workflows(n: int) -> list[dict[str, Any]]:
    found = []
    for seed in range(300, 400):
        data = random_request_data(seed, max_joint=2_000)
        if data["cost_model"] == "PRICED":
            found.append(data)
        if len(found) == n:
            return found
    raise AssertionError("too few PRICED draws")


def test_skipping_the_second_search_only_where_the_plan_cannot_move() -> None:
    """Prices of a model the old plan does not use: ×1000 lets the what-if skip the second
    search (the plan stays), ×0.001 must not (it moves some plans); either way the report
    equals re-running the workflow on the catalog changed by hand."""
    moved = skipped = 0
    workflows = _priced_workflows(6)
    with Client.in_process() as client:
        for data in workflows:
            before = optimize(load_request(data)).plan
            used = {r.model for t in before.plan.tasks for r in t.roles}
            spares = [m["name"] for m in data["catalog"]["models"] if m["name"] not in used]
            if not spares:
                continue
            spare, first = spares[0], None
            for factor in (1000.0, 0.001):
                changes = [(spare, f, factor) for f in ("price_per_input_token", FIELDS[1])]
                request = pb.WhatIfRequest()
                dict_to_proto(data, request.requests.add())
                for name, field, by in changes:
                    request.changes.add(model=name, field=field, factor=by)
                old, new = catalogs(request)
                first = first or workers.optimize_message(
                    old[0], ServerConfig().limits, "", deadline=None, should_stop=None
                )
                skip = unaffected(old[0], new[0], first)
                assert skip is (factor > 1)
                (entry,) = client.what_if(request)
                after = optimize(load_request(_changed_by_hand(data, changes))).plan
                assert _proto_choices(entry.after) == _choices(after.plan)
                assert entry.cost_after == pytest.approx(after.outcome.expected_cost, rel=1e-12)
                assert entry.changed is (_choices(before.plan) != _choices(after.plan))
                skipped += skip
                moved += not skip and entry.changed
    assert skipped >= 3
    assert moved >= 1  # a cheaper unused model took over: skipping there would be wrong


def test_unchanged_catalog_lists_nothing_as_changed() -> None:
    workflows = _workflows(5)
    request = pb.WhatIfRequest()
    for data in workflows:
        dict_to_proto(data, request.requests.add())
    request.changes.add(model="m0", field="latency_per_token", factor=1.0)
    with Client.in_process() as client:
        entries = list(client.what_if(request))
    assert [e.changed for e in entries] == [False] * 5
    assert [e.cost_before for e in entries] == [e.cost_after for e in entries]


def test_cli_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workflows = _workflows(3)
    folder = tmp_path / "flows"
    folder.mkdir()
    for i, data in enumerate(workflows):
        (folder / f"flow{i}.yaml").write_text(yaml.safe_dump(data))
    new = _changed_by_hand(workflows[0], [("m0", "price_per_output_token", 50.0)])
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(workflows[0]["catalog"]))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new["catalog"]))
    args = ["whatif", str(folder), "--catalog", str(tmp_path / "old.yaml")]
    assert main([*args, "--new", str(tmp_path / "new.yaml"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"workflows", "total_before", "total_after"}
    assert [w["name"] for w in data["workflows"]] == ["flow0", "flow1", "flow2"]
    for w in data["workflows"]:
        assert set(w) == {"name", "changed", "before", "after", "cost_before", "cost_after"}
    assert data["total_before"] == pytest.approx(sum(w["cost_before"] for w in data["workflows"]))
    assert main([*args, "--change", "m0.price_per_output_token*50"]) == 0
    text = capsys.readouterr().out
    assert "Totals" in text and "workflows" in text


def test_bad_change_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "a.yaml").write_text(yaml.safe_dump(_workflows(1)[0]))
    assert main(["whatif", str(folder), "--change", "m0.price*x"]) == 2
    assert "MODEL.FIELD*FACTOR" in capsys.readouterr().err
    assert main(["whatif", str(folder), "--change", "nosuch.size*2"]) == 2
    assert "changes[0].model" in capsys.readouterr().err
