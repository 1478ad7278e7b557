"""One-time setups and volume (issue 14): in-context distillation's break-even.

arXiv 2512.02543: distilling a teacher's demonstrations into a student's context costs
$29.5 once and takes a run from $0.059 to $0.024, so it pays after 29.5 / 0.035 = 842.86
runs. Built as a PRICED request (teacher without setup, student with it); the oracle is
that arithmetic, and the search at volumes either side of it, compared by brute force
with the amortized cost of both plans written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate
from aalps.optimizer import optimize
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto, request_from_proto, result_to_proto
from aalps.server.whatif import apply_changes

SETUP, WITH, WITHOUT = 29.5, 0.024, 0.059


def data(volume: float | None, objective: str = "COST_OF_PASS") -> dict[str, Any]:
    # 1000 tokens in, 100 out: the teacher 0.049 + 0.010, the student 0.014 + 0.010.
    request: dict[str, Any] = {
        "graph": {
            "parameters": [{"name": "n", "value": 1000}],
            "tasks": [
                {"id": "answer", "capability": "qa", "input_tokens": "n", "output_tokens": "100"}
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "teacher",
                    "size": "10",
                    "price_per_input_token": 0.000049,
                    "price_per_output_token": 0.0001,
                    "capabilities": {"qa": 1},
                },
                {
                    "name": "student",
                    "size": "1",
                    "price_per_input_token": 0.000014,
                    "price_per_output_token": 0.0001,
                    "setup_cost": SETUP,
                    "capabilities": {"qa": 1},
                },
            ]
        },
        "cost_model": "PRICED",
        "search": {"objective": objective},
    }
    if volume is not None:
        request["volume"] = volume
    return request


def test_break_even_of_in_context_distillation() -> None:
    result = optimize(load_request(data(2000)))
    setup = result.setup
    assert setup is not None and setup.without_setup is not None
    assert setup.break_even_volume == pytest.approx(SETUP / (WITHOUT - WITH), rel=1e-9)
    assert setup.break_even_volume == pytest.approx(842.857, abs=1e-3)
    assert setup.with_setup.outcome.per_run_cost == pytest.approx(WITH, rel=1e-12)
    assert setup.without_setup.outcome.per_run_cost == pytest.approx(WITHOUT, rel=1e-12)
    plan = result.plan.outcome
    assert plan.setup_cost == SETUP
    assert plan.expected_cost == pytest.approx(SETUP / 2000 + WITH, rel=1e-12)
    message = result_to_proto(result)
    assert message.setup.break_even_volume == pytest.approx(842.857, abs=1e-3)
    assert message.plan.per_run_cost == pytest.approx(WITH) and message.plan.setup_cost == SETUP
    # The simulator charges the setup per run as setup / volume too.
    sim = simulate(load_request(data(2000)), result.plan.plan, runs=20)
    assert sim.mean_cost == pytest.approx(SETUP / 2000 + WITH, rel=1e-12)


@pytest.mark.parametrize("objective", ["COST_OF_PASS", "EXPECTED_COST"])
@pytest.mark.parametrize("volume", [1, 100, 800, 842, 844, 900, 5000, 1e6])
def test_amortized_objective_picks_the_setup_iff_volume_beyond_break_even(
    volume: float, objective: str
) -> None:
    # Brute force over both plans: amortized cost per run, by hand.
    by_hand = {"student": SETUP / volume + WITH, "teacher": WITHOUT}
    best = min(by_hand, key=lambda name: by_hand[name])
    assert (best == "student") == (volume > SETUP / (WITHOUT - WITH))
    result = optimize(load_request(data(volume, objective)))
    assert result.plan.plan.tasks[0].roles[0].model == best
    assert result.plan.outcome.expected_cost == pytest.approx(by_hand[best], rel=1e-12)


def test_no_setup_in_the_catalog_reports_none_and_volume_defaults_to_one() -> None:
    plain = data(None)
    plain["catalog"]["models"][1].pop("setup_cost")
    assert optimize(load_request(plain)).setup is None
    result = optimize(load_request(data(None)))  # volume 1: the whole setup in one run
    assert result.plan.plan.tasks[0].roles[0].model == "teacher"
    assert result.setup is not None
    assert result.setup.break_even_volume == pytest.approx(842.857, abs=1e-3)


def test_what_if_a_cheaper_setup_moves_the_break_even() -> None:
    message = pb.OptimizeRequest()
    dict_to_proto(data(500), message)
    before = optimize(request_from_proto(message))
    assert before.plan.plan.tasks[0].roles[0].model == "teacher"  # 500 < 842.86
    change = pb.CatalogChange(model="student", field="setup_cost", factor=0.5)
    message.catalog.CopyFrom(apply_changes(message.catalog, [change]))
    after = optimize(request_from_proto(message))
    assert after.plan.plan.tasks[0].roles[0].model == "student"  # 500 > 421.43
    assert after.setup is not None
    assert after.setup.break_even_volume == pytest.approx(SETUP / 2 / (WITHOUT - WITH))


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"volume": 1e16}, "volume"),
        ({"volume": -3}, "volume"),
        ({"volume": "many"}, "volume"),
    ],
)
def test_bad_volume_names_the_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        load_request({**data(None), **patch})
    assert field in {v.field for v in caught.value.violations}


def test_negative_setup_cost_names_the_field() -> None:
    bad = data(None)
    bad["catalog"]["models"][1]["setup_cost"] = -1
    with pytest.raises(InvalidRequestError) as caught:
        load_request(bad)
    assert "catalog.models[1].setup_cost" in {v.field for v in caught.value.violations}
