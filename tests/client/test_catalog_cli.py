"""``aalps catalog from-litellm``: a price table to a catalog file, end to end, and its errors.

The fixture's entries are LiteLLM's own (tests/fixtures/litellm_prices.json); the expected
costs are computed here from the figures the file writes.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from aalps.client.catalog_files import read_catalog_file
from aalps.client.cli import main

from tests.client.conftest import write_yaml

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "litellm_prices.json"
TABLE = json.loads(FIXTURE.read_text(encoding="utf-8"), parse_float=str)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def overlay(tmp_path: Path, **models: dict[str, object]) -> Path:
    return write_yaml(tmp_path / "overlay.yaml", models)


def test_from_litellm_writes_a_catalog_that_optimizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = overlay(
        tmp_path,
        gpt_4o={"size": 200, "capabilities": {"solve": 1.0}},
        mini={"size": 8, "capabilities": {"solve": 1.0}},
        gemini_2_5_pro={"size": 300, "capabilities": {"solve": 1.0}, "latency_per_token": 0.5},
    )
    out = tmp_path / "catalog.yaml"
    argv = ["catalog", "from-litellm", str(FIXTURE), "--pick", "gpt-4o"]
    argv += ["--pick", "gpt-4o-mini=mini", "--pick", "gemini/gemini-2.5-pro"]
    status, stdout, err = run(capsys, *argv, "--overlay", str(extra), "-o", str(out))
    assert status == 0, err
    assert stdout == ""
    assert err.splitlines() == [
        "gpt-4o -> gpt_4o",
        "gpt-4o-mini -> mini",
        "gemini/gemini-2.5-pro -> gemini_2_5_pro",
    ]
    text = out.read_text(encoding="utf-8")
    assert "'2.5e-06'" in text  # prices are written as the file's strings
    models = {m["name"]: m for m in read_catalog_file(out)["models"]}
    assert models["mini"]["source_key"] == "gpt-4o-mini"
    assert models["gemini_2_5_pro"]["latency_per_token"] == 0.5
    assert models["gemini_2_5_pro"]["tier_threshold_tokens"] == 200000

    n, prompt, written = 50_000, 500, 100
    request = {
        "graph": {
            "parameters": [{"name": "n", "value": n}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "solve",
                    "input_tokens": "n",
                    "output_tokens": written,
                    "prompt_tokens": prompt,
                }
            ],
        },
        "cost_model": "PRICED",
    }
    path = write_yaml(tmp_path / "request.yaml", request)
    status, stdout, err = run(
        capsys, "optimize", str(path), "--catalog", str(out), "--format", "json"
    )
    assert status == 0, err
    plan = json.loads(stdout)["plan"]
    assert [r["model"] for r in plan["tasks"][0]["roles"]] == ["mini"]  # the cheapest
    price_in = Fraction(TABLE["gpt-4o-mini"]["input_cost_per_token"])
    price_out = Fraction(TABLE["gpt-4o-mini"]["output_cost_per_token"])
    # One call: it writes the prompt to the cache at the input price (no write price).
    assert plan["expected_cost"] == pytest.approx(
        float((n + prompt) * price_in + written * price_out), rel=1e-12
    )


def test_from_litellm_prints_the_catalog_without_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = overlay(tmp_path, deepseek_chat={"size": 1, "capabilities": {"solve": 0.9}})
    argv = ["catalog", "from-litellm", str(FIXTURE), "--pick", "deepseek/deepseek-chat"]
    status, stdout, err = run(capsys, *argv, "--overlay", str(extra))
    assert status == 0, err
    [model] = yaml.safe_load(stdout)["models"]
    assert model["name"] == "deepseek_chat" and model["source_key"] == "deepseek/deepseek-chat"
    assert model["price_per_cached_input_token"] == "2.8e-08"
    assert "price_per_cache_write_token" not in model  # the file lists 0.0: not listed


@pytest.mark.parametrize(
    ("picks", "models", "line"),
    [
        (["gpt-5"], {}, "error: gpt-5: no such key in the price table"),
        (
            ["o3-mini"],
            {"gpt_4o": {"size": 1, "capabilities": {"solve": 1.0}}},
            "error: o3_mini: (from o3-mini) needs size and capabilities in the overlay",
        ),
        (
            ["gpt-4o"],
            {"gpt_4o": {"capabilities": {"solve": 1.0}}},
            "error: gpt_4o: (from gpt-4o) needs size and capabilities in the overlay",
        ),
        (
            ["gpt-4o=gpt-4o"],
            {},
            "error: --pick gpt-4o=gpt-4o: the name must be an identifier (letters, digits, _)",
        ),
        (
            ["gpt-4o", "gpt-4o-mini=gpt_4o"],
            {"gpt_4o": {"size": 1, "capabilities": {"solve": 1.0}}},
            "error: gpt_4o: picked twice (again for gpt-4o-mini)",
        ),
    ],
)
def test_from_litellm_errors_name_the_key_or_model_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    picks: list[str],
    models: dict[str, object],
    line: str,
) -> None:
    argv = ["catalog", "from-litellm", str(FIXTURE), "--overlay", str(overlay(tmp_path, **models))]
    for pick in picks:
        argv += ["--pick", pick]
    status, stdout, err = run(capsys, *argv)
    assert (status, stdout) == (2, "")
    assert err.splitlines()[-1:] == [line]
    assert sum(1 for x in err.splitlines() if x.startswith("error:")) == 1


def test_a_bad_price_table_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text("{", encoding="utf-8")
    status, _, err = run(capsys, "catalog", "from-litellm", str(bad), "--pick", "x")
    assert status == 2
    assert err.startswith(f"error: {bad}: not valid JSON")
