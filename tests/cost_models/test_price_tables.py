"""Real price tables in PRICED: cached prompts, batch prices and tiers, against hand sums.

The fixture ``tests/fixtures/litellm_prices.json`` holds fifteen entries copied unchanged from
LiteLLM 1.110.2's ``model_prices_and_context_window_backup.json`` (MIT). The oracles read
its figures on their own (decimal strings to exact fractions) and add the calls up by
hand or in a loop over every call, never through the code under test.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy
from aalps.client.price_tables import from_litellm
from aalps.cost_models.arithmetic import FLOAT, SYMBOLIC
from aalps.cost_models.call_costs import Pricing, group_cost
from aalps.cost_models.domain import CostModel, Operator
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluator, make_task_plan
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import CallGroup

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "litellm_prices.json"
TABLE = json.loads(FIXTURE.read_text(encoding="utf-8"), parse_float=str)


def exact(key: str, field: str) -> Fraction:
    """A figure of the fixture as the exact decimal it writes (0 when absent)."""
    return Fraction(str(TABLE[key].get(field, 0)))


def catalog(*keys: str) -> dict[str, Any]:
    overlay = {
        name: {"size": 10, "capabilities": {"solve": 1.0}}
        for name in ("gpt_4o", "claude_sonnet_4_5", "gemini_2_5_pro", "claude_3_haiku_20240307")
    }
    overlay.update({n: {"size": 1, "capabilities": {"solve": 1.0}} for n in ("any",)})
    picks = [(k, None) for k in keys]
    names = {
        k: n
        for k, n in (
            ("gpt-4o", "gpt_4o"),
            ("claude-sonnet-4-5", "claude_sonnet_4_5"),
            ("gemini/gemini-2.5-pro", "gemini_2_5_pro"),
            ("vertex_ai/claude-3-haiku@20240307", "claude_3_haiku_20240307"),
        )
    }
    assert all(k in names for k in keys)
    result, _ = from_litellm(TABLE, picks, overlay)
    return result


def request(models: dict[str, Any], task: dict[str, Any], **extra: Any) -> Any:
    return load_request(
        {
            "graph": {
                "parameters": [{"name": "n", "value": extra.pop("n", 1000)}],
                "tasks": [{"id": "t", "capability": "solve", **task}],
            },
            "catalog": models,
            "cost_model": "PRICED",
            **extra,
        }
    )


# --- the catalog's prices are the file's ------------------------------------------------


def test_every_fixture_entry_converts_with_the_files_prices() -> None:
    from aalps.client.price_tables import aalps_name

    keys = sorted(k for k in TABLE if k != "gemini-2.5-pro")  # vertex: two tiers below
    overlay = {aalps_name(k): {"size": 10, "capabilities": {"solve": 0.9}} for k in keys}
    data, names = from_litellm(TABLE, [(k, None) for k in keys], overlay)
    loaded = request(data, {"input_tokens": "n"}).catalog.by_name
    assert len(keys) >= 12
    for key, name in names:
        model = loaded[name]
        assert model.source_key == key
        assert model.price_per_input_token == exact(key, "input_cost_per_token")
        assert model.price_per_output_token == exact(key, "output_cost_per_token")
        assert model.price_per_cached_input_token == exact(key, "cache_read_input_token_cost")
        assert model.price_per_cache_write_token == exact(key, "cache_creation_input_token_cost")
        assert model.context_window == float(TABLE[key]["max_input_tokens"])
        batch = model.batch_prices
        if "input_cost_per_token_batches" in TABLE[key]:
            assert batch is not None
            assert batch.input == exact(key, "input_cost_per_token_batches")
            assert batch.output == exact(key, "output_cost_per_token_batches")
            assert batch.cached_input == exact(key, "cache_read_input_token_cost_batches")
            assert batch.cache_write == exact(key, "cache_creation_input_token_cost_batches")
        else:
            assert batch is None
    gemini = loaded["gemini_2_5_pro"]
    key = "gemini/gemini-2.5-pro"
    assert gemini.tier_threshold_tokens == 200_000
    assert gemini.tier_prices is not None and gemini.batch_tier_prices is not None
    assert gemini.tier_prices.input == exact(key, "input_cost_per_token_above_200k_tokens")
    assert gemini.tier_prices.output == exact(key, "output_cost_per_token_above_200k_tokens")
    assert gemini.tier_prices.cached_input == exact(
        key, "cache_read_input_token_cost_above_200k_tokens"
    )
    assert gemini.batch_tier_prices.output == exact(
        key, "output_cost_per_token_above_200k_tokens_batches"
    )
    qwen = loaded["qwen3_5_122b_a10b"]
    assert qwen.tier_threshold_tokens == 128_000
    assert qwen.tier_prices is not None
    assert qwen.tier_prices.input == exact(
        "empiriolabs/qwen3-5-122b-a10b", "input_cost_per_token_above_128k_tokens"
    )


# --- cached prompts and batch prices, by hand ------------------------------------------

K, BLOCK, WRITTEN, PROMPT, VOTES = 10, 2000, 100, 3000, 3
MAP_TASK = {
    "input_tokens": K * BLOCK,
    "prompt_tokens": PROMPT,
    "blocks": {"count": K, "size": BLOCK, "output": WRITTEN},
    "discrete": True,
}


def map_cost(req: Any, name: str) -> tuple[float, sympy.Expr]:
    evaluator = PlanEvaluator(req)
    plan = make_task_plan("t", Operator.MAP, worker=(name, VOTES))
    return evaluator.task_outcome(plan).expected_cost, evaluator.task_cost(plan)


def by_hand(read: Fraction, write: Fraction, price_in: Fraction, price_out: Fraction) -> Fraction:
    """K blocks × VOTES calls share the prompt: one writes it, the others read it."""
    calls = K * VOTES
    return (
        PROMPT * write
        + (calls - 1) * PROMPT * read
        + calls * (BLOCK * price_in + WRITTEN * price_out)
    )


@pytest.mark.parametrize(
    ("key", "name", "write_field"),
    [
        ("gpt-4o", "gpt_4o", "input_cost_per_token"),  # no cache-write price: the input's
        ("claude-sonnet-4-5", "claude_sonnet_4_5", "cache_creation_input_token_cost"),
    ],
)
def test_cached_prompt_is_written_once_and_read_by_the_other_calls(
    key: str, name: str, write_field: str
) -> None:
    cost, symbolic = map_cost(request(catalog(key), MAP_TASK), name)
    expected = by_hand(
        exact(key, "cache_read_input_token_cost"),
        exact(key, write_field),
        exact(key, "input_cost_per_token"),
        exact(key, "output_cost_per_token"),
    )
    assert symbolic == sympy.Rational(expected.numerator, expected.denominator)
    assert cost == pytest.approx(float(expected), rel=1e-12)
    uncached = K * VOTES * ((PROMPT + BLOCK) * exact(key, "input_cost_per_token")) + K * VOTES * (
        WRITTEN * exact(key, "output_cost_per_token")
    )
    assert expected < uncached  # the cache is a saving here


def test_batch_pricing_uses_the_batch_prices() -> None:
    key = "claude-sonnet-4-5"
    cost, symbolic = map_cost(request(catalog(key), MAP_TASK, pricing="BATCH"), "claude_sonnet_4_5")
    expected = by_hand(
        exact(key, "cache_read_input_token_cost_batches"),
        exact(key, "cache_creation_input_token_cost_batches"),
        exact(key, "input_cost_per_token_batches"),
        exact(key, "output_cost_per_token_batches"),
    )
    assert symbolic == sympy.Rational(expected.numerator, expected.denominator)
    assert cost == pytest.approx(float(expected), rel=1e-12)
    # gpt-4o lists no batch cache prices: the standard read price, the batch input as write
    key = "gpt-4o"
    cost, _ = map_cost(request(catalog(key), MAP_TASK, pricing="BATCH"), "gpt_4o")
    expected = by_hand(
        exact(key, "cache_read_input_token_cost"),
        exact(key, "input_cost_per_token_batches"),
        exact(key, "input_cost_per_token_batches"),
        exact(key, "output_cost_per_token_batches"),
    )
    assert cost == pytest.approx(float(expected), rel=1e-12)


def test_batch_pricing_names_a_model_without_batch_prices() -> None:
    models = catalog("gpt-4o", "vertex_ai/claude-3-haiku@20240307")
    with pytest.raises(InvalidRequestError) as caught:
        request(models, {"input_tokens": "n"}, pricing="BATCH")
    [violation] = caught.value.violations
    assert violation.field == "catalog.models[1].batch_prices"
    assert "claude_3_haiku_20240307" in violation.description


# --- tiers -----------------------------------------------------------------------------

GEMINI = "gemini/gemini-2.5-pro"


@pytest.mark.parametrize("pricing", ["STANDARD", "BATCH"])
@pytest.mark.parametrize("tokens", [199_999, 200_000, 200_001, 450_000])
def test_tier_prices_switch_above_the_threshold(tokens: int, pricing: str) -> None:
    req = request(
        catalog(GEMINI), {"input_tokens": "n", "output_tokens": 500}, n=tokens, pricing=pricing
    )
    evaluator = PlanEvaluator(req)
    plan = make_task_plan("t", Operator.DIRECT, worker="gemini_2_5_pro")
    suffix = "_batches" if pricing == "BATCH" else ""
    tier = "_above_200k_tokens" if tokens > 200_000 else ""  # the whole call, strictly above
    expected = tokens * exact(GEMINI, f"input_cost_per_token{tier}{suffix}") + 500 * exact(
        GEMINI, f"output_cost_per_token{tier}{suffix}"
    )
    assert evaluator.task_outcome(plan).expected_cost == pytest.approx(float(expected), rel=1e-12)
    symbolic = evaluator.task_cost(plan).xreplace({sympy.Symbol("n", positive=True): tokens})
    assert symbolic == sympy.Rational(expected.numerator, expected.denominator)
    assert evaluator.evaluate(make_plan(plan)).bound.text == "n"


def make_plan(task_plan: Any) -> Any:
    from aalps.cost_models.domain import Plan

    return Plan((task_plan,))


# --- a group's closed form against a loop over its calls --------------------------------


def loop_cost(
    p: dict[str, Fraction], calls: int, first: int, step: int, out: int, votes: int, prompt: int
) -> Fraction:
    """Call by call: tier by the call's own input; the very first call writes the prompt."""
    total = Fraction(0)
    for v in range(votes):
        for j in range(calls):
            tokens = first + j * step
            tier = "tier_" if p["threshold"] and tokens > p["threshold"] else ""
            price_in, price_out = p[tier + "in"], p[tier + "out"]
            read, write = p[tier + "read"], p[tier + "write"]
            if read == 0:
                total += tokens * price_in + out * price_out
                continue
            head = write if (v, j) == (0, 0) else read
            total += (tokens - prompt) * price_in + prompt * head + out * price_out
    return total


@pytest.mark.parametrize("seed", range(40))
def test_priced_group_closed_form_equals_the_loop(seed: int) -> None:
    rng = random.Random(seed)
    figures = {
        k: Fraction(rng.randint(1, 40), 1000)
        for k in ("in", "out", "read", "write", "tier_in", "tier_out", "tier_read", "tier_write")
    }
    if rng.random() < 0.3:
        figures["read"] = figures["tier_read"] = Fraction(0)
    calls, step = rng.randint(1, 12), rng.choice([0, 0, 1, 7, 50])
    prompt = rng.randint(0, 30)
    first = prompt + rng.randint(1, 100)
    figures["threshold"] = Fraction(rng.choice([0, first - 1, first, first + rng.randint(0, 400)]))
    out, votes = rng.randint(1, 20), rng.choice([1, 3])
    expected = loop_cost(figures, calls, first, step, out, votes, prompt)

    def pricing(number: Any) -> Pricing:
        f = {k: number(v) for k, v in figures.items()}
        return Pricing(
            1, f["in"], f["out"], f["read"], f["write"], f["threshold"],
            f["tier_in"], f["tier_out"], f["tier_read"], f["tier_write"],
        )  # fmt: skip

    group = CallGroup("worker", calls, first, out, step)
    numeric = group_cost(group, CostModel.PRICED, pricing(float), votes, FLOAT, prompt)
    assert numeric == pytest.approx(float(expected), rel=1e-9)
    # symbolic: the first input a symbol, substituted after the sum
    x = sympy.Symbol("x", positive=True)
    rational = lambda v: sympy.Rational(v.numerator, v.denominator)  # noqa: E731
    whole = sympy.Integer  # the evaluator hands the symbolic side sympy numbers
    group = CallGroup("worker", whole(calls), x, whole(out), whole(step))
    symbolic = group_cost(group, CostModel.PRICED, pricing(rational), votes, SYMBOLIC, prompt)
    assert symbolic.xreplace({x: first}) == rational(expected)


# --- the search sees cache prices ------------------------------------------------------


def test_the_search_keeps_a_dearer_model_whose_cache_makes_it_cheaper() -> None:
    """Dearer per input token, but a cheap cache read: with a long prompt shared by ten
    calls (the window rules out one call over the whole input) it is the cheaper model, so
    the search must not prune it by its input price."""
    from aalps.optimizer import optimize

    models = {
        "models": [
            {"name": "plain", "size": 1, "capabilities": {"solve": 1.0}, "context_window": 10_500,
             "price_per_input_token": "1.9e-06", "price_per_output_token": "1e-05"},
            {"name": "cached", "size": 1, "capabilities": {"solve": 1.0}, "context_window": 10_500,
             "price_per_input_token": "2e-06", "price_per_output_token": "1e-05",
             "price_per_cached_input_token": "1e-07"},
        ]
    }  # fmt: skip
    task = {
        "input_tokens": 1000,
        "prompt_tokens": 10_000,
        "blocks": {"count": 10, "size": 100, "output": 5},
    }
    result = optimize(request(models, task))
    roles = {r.model for tp in result.plan.plan.tasks for r in tp.roles}
    assert roles == {"cached"}
    assert result.plan.plan.tasks[0].operator is Operator.MAP
    # by hand: MAP over ten blocks, the prompt written once and read nine times
    p, two, cent = Fraction(10_000), Fraction(2, 10**6), Fraction(1, 10**7)
    map_cost = p * two + 9 * p * cent + 10 * (100 * two + 5 * Fraction(1, 10**5))
    assert result.plan.outcome.expected_cost == pytest.approx(float(map_cost), rel=1e-12)


# --- every operator against the call-by-call simulator ---------------------------------


def _simulation_params() -> list[Any]:
    from tests.cost_models.conftest import CASES, SIMULATION, build_request, votable_roles

    params = []
    for case in CASES:
        request = build_request(case, CostModel.PRICED, SIMULATION)
        for votes in (1, 3) if votable_roles(request, case) else (1,):
            params.append(pytest.param(case, votes, id=f"{case.name}-votes{votes}"))
    return params


@pytest.mark.parametrize(("case", "votes"), _simulation_params())
def test_cached_and_tiered_costs_match_the_simulator(request: Any, case: Any, votes: int) -> None:
    """Every model caches (read 1/8, write 5/4 of its input price) and has a tier above 12
    tokens at twice its prices: some calls of every operator cross it, some do not."""
    from aalps.cost_models.domain import Plan

    from tests.cost_models.conftest import SIMULATION, build_plan, build_request_dict
    from tests.cost_models.test_simulator import check_against_simulation

    data = build_request_dict(case, CostModel.PRICED, SIMULATION)
    for model in data["catalog"]["models"]:
        price_in, price_out = model["price_per_input_token"], model["price_per_output_token"]
        model["price_per_cached_input_token"] = price_in / 8
        model["price_per_cache_write_token"] = price_in * 5 / 4
        model["tier_threshold_tokens"] = 12
        model["tier_prices"] = {"input": 2 * price_in, "output": 2 * price_out}
    aalps_request = load_request(data)
    plan = Plan((build_plan(aalps_request, case, votes),))
    check_against_simulation(aalps_request, plan, request.node.name, case.random_cost)


def test_a_price_the_tier_leaves_out_is_the_standard_one() -> None:
    """LiteLLM falls back to the flat price when a tier lists only some of its prices."""
    models = {
        "models": [
            {"name": "a", "size": 1, "capabilities": {"solve": 1.0},
             "price_per_input_token": "1e-06", "price_per_output_token": "4e-06",
             "tier_threshold_tokens": 100, "tier_prices": {"input": "3e-06"}},
        ]
    }  # fmt: skip
    req = request(models, {"input_tokens": "n", "output_tokens": 10}, n=150)
    plan = make_task_plan("t", Operator.DIRECT, worker="a")
    expected = 150 * Fraction(3, 10**6) + 10 * Fraction(4, 10**6)
    assert PlanEvaluator(req).task_outcome(plan).expected_cost == pytest.approx(float(expected))


def test_an_overlay_gives_the_vote_correlation() -> None:
    overlay = {
        "gpt_4o": {
            "size": 1,
            "capabilities": {"solve": 0.8},
            "vote_correlation": 0.2,
            "vote_correlations": {"solve": 0.35},
        }
    }
    data, _ = from_litellm(TABLE, [("gpt-4o", None)], overlay)
    loaded = request(data, {"input_tokens": "n"})
    assert loaded.catalog.by_name["gpt_4o"].correlation("solve") == 0.35
    assert loaded.catalog.by_name["gpt_4o"].vote_correlation == 0.2
