"""The two arithmetics agree, and both say what the paper says.

1. For every operator variant × cost model × votes (where a role may vote) × with and
   without a per-token error, the symbolic expected cost (``task_cost``) evaluated exactly at
   the scale point equals the numeric ``task_outcome(...).expected_cost`` to 1e-9.
2. The numeric success probability equals the product over the calls DESIGN §2 describes,
   computed here by hand call by call (votes and per-token decay per call).
3. The paper's worked examples (Meyerson & Qiu, §3.1-3.3), symbol for symbol.
4. Where floats overflow (2^k attempts), the big-number path still agrees in log space.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy
import yaml
from aalps.cost_models.domain import CostModel, Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.stochastic import (
    ahead_by_k_step_success,
    majority_vote_success,
)

from tests.cost_models.conftest import (
    AGREEMENT,
    CASE_BY_NAME,
    CASES,
    COST_MODELS,
    ROLE_MODEL,
    Case,
    build_plan,
    build_request,
    build_request_dict,
    scale_point,
    votable_roles,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REL = 1e-9
PER_TOKEN_ERROR = 0.002


def _votes_options(case: Case) -> tuple[int, ...]:
    request = build_request(case, CostModel.FORWARD_PASS)
    return (1, 3) if votable_roles(request, case) else (1,)


def _agreement_params() -> list:
    params = []
    for case in CASES:
        for cost_model in COST_MODELS:
            for votes in _votes_options(case):
                for error in (0.0, PER_TOKEN_ERROR):
                    label = "per-token-error" if error else "no-decay"
                    params.append(
                        pytest.param(
                            case,
                            cost_model,
                            votes,
                            error,
                            id=f"{case.name}-{cost_model}-votes{votes}-{label}",
                        )
                    )
    return params


def symbolic_at_scale_point(cost: sympy.Expr, request) -> sympy.Float:
    point = scale_point(request)
    leftover = cost.free_symbols - set(point)
    assert not leftover, f"symbols without a scale-point value: {leftover}"
    return sympy.N(cost.xreplace(point), 50)


@pytest.mark.parametrize(("case", "cost_model", "votes", "per_token_error"), _agreement_params())
def test_symbolic_cost_agrees_with_numeric(case, cost_model, votes, per_token_error):
    request = build_request(case, cost_model, AGREEMENT, per_token_error=per_token_error)
    evaluator = PlanEvaluator(request)
    task_plan = build_plan(request, case, votes)
    assert not evaluator.task_plan_problems(task_plan)

    cost = evaluator.task_cost(task_plan)
    exact = symbolic_at_scale_point(cost, request)
    numeric = evaluator.task_outcome(task_plan).expected_cost

    assert exact > 0
    assert abs(float(exact) - numeric) <= REL * float(exact), (str(cost), exact, numeric)
    # Sizes stay symbols (bounds are derived from them); prices are numbers.
    role_sizes = {request.catalog.by_name[r.model].size for r in task_plan.roles}
    if cost_model is CostModel.PRICED:
        assert not cost.free_symbols & role_sizes
    else:
        assert role_sizes <= cost.free_symbols


@pytest.mark.parametrize("cost_model", COST_MODELS, ids=str)
def test_whole_plan_evaluation_agrees_with_its_tasks(cost_model):
    """``evaluate`` sums the task costs symbolically and numerically alike."""
    case = CASE_BY_NAME["SCAN_AND_FIX"]
    request = build_request(case, cost_model)
    evaluator = PlanEvaluator(request)
    plan = Plan((build_plan(request, case, 3),))
    evaluation = evaluator.evaluate(plan)
    exact = symbolic_at_scale_point(evaluation.cost, request)
    assert evaluation.outcome.expected_cost == pytest.approx(float(exact), rel=REL)
    assert evaluation.outcome.expected_cost == evaluator.outcome(plan).expected_cost


# ------------------------------------------------- success: the product over the calls


def hand_success(case: Case, votes: int, error: float) -> float:
    """P(the task ends right), call by call, from DESIGN §2 and the AGREEMENT sizes.

    Votes apply only where a majority exists (issue 7, item 7): the delegator (it writes one
    token) and, on a ``discrete`` task, the DIRECT worker. Every other role of these sizes
    writes several tokens (output 25, block output 30, report 6), so it does not vote. A
    ``steps`` task is a chain of ``q`` decisions: a call that writes ``d`` of them is right
    with ``p^d``.
    """
    s = AGREEMENT
    rel = {role: s.reliability[model] for role, model in ROLE_MODEL.items()}
    n = s.blocks * s.block_size
    r = s.report_tokens
    discrete = "discrete" in case.facts
    steps = s.steps if "steps" in case.facts else 0

    def call(role: str, tokens_in: float, role_votes: int = 1, decisions: float = 1) -> float:
        p = (rel[role] * (1 - error) ** tokens_in) ** decisions
        return majority_vote_success(p, role_votes)

    op = case.operator
    if op is Operator.DIRECT:
        return call("worker", s.prompt + n, votes if discrete else 1, steps or 1)
    if op is Operator.ROUTE:
        return call("delegator", s.prompt + s.routing_tokens, votes) * call(
            "specialist", s.prompt + n
        )
    if op is Operator.MAP:
        per_block = steps / s.blocks if steps else 1
        ok = call("worker", s.prompt + s.block_size, 1, per_block) ** s.blocks
        if "acceptance" in case.facts:  # unverified: every block must come out right
            ok *= s.acceptance**s.blocks
        return ok
    if op is Operator.SCAN_AND_FIX:
        detect = call("detector", s.prompt + s.block_size) ** s.blocks
        return detect * call("fixer", s.prompt + s.block_size + r) ** s.defects
    if op in (Operator.ITERATE_WITH_HISTORY, Operator.ITERATE_STATELESS):
        history = op is Operator.ITERATE_WITH_HISTORY
        ok = 1.0
        for i in range(1, s.defects + 1):
            versions, reports = (i, i - 1) if history else (1, 0)
            ok *= call("detector", s.prompt + versions * n + reports * r)
            ok *= call("fixer", s.prompt + versions * n + (reports + 1) * r)
        return ok
    if op in (Operator.GLOBAL_RETRY, Operator.LOCAL_RETRY):
        if not case.verifier:
            return 1.0  # retried until the (free) verifier accepts
        # An LLM verifier errs on each check: an attempt right with probability r is
        # accepted with a = r·v + (1−r)(1−v), and an accepted attempt is right with r·v/a.
        if op is Operator.GLOBAL_RETRY and case.whole_input:
            units, tokens_in, checked, blocks = 1, s.prompt + n, s.output, 1
        elif op is Operator.GLOBAL_RETRY:
            units, tokens_in, checked = 1, s.prompt + n, s.blocks * s.block_output
            blocks = s.blocks
        else:
            units, tokens_in, checked = s.blocks, s.prompt + s.block_size, s.block_output
            blocks = 1
        right = call("worker", tokens_in) * s.acceptance**blocks
        v = call("verifier", s.prompt + checked)
        return (right * v / (right * v + (1 - right) * (1 - v))) ** units
    if op is Operator.CHUNK_AGGREGATE:
        chunks = math.ceil(n / dict(case.params)["chunk"])
        size = n / chunks
        written = size / 4 + 1
        ok = call("worker", s.prompt + size) ** chunks  # writes chunk/4 + 1 tokens: no votes
        if case.aggregator:
            ok *= call("aggregator", s.prompt + chunks * written)
        return ok
    if op is Operator.AHEAD_BY_K:
        p = rel["worker"] * (1 - error) ** (s.prompt + s.step_tokens)
        return ahead_by_k_step_success(p, dict(case.params)["ahead"]) ** s.steps
    raise AssertionError(op)


def _success_params() -> list:
    params = []
    for case in CASES:
        for votes in _votes_options(case):
            for error in (0.0, PER_TOKEN_ERROR):
                label = "per-token-error" if error else "no-decay"
                params.append(
                    pytest.param(case, votes, error, id=f"{case.name}-votes{votes}-{label}")
                )
    return params


@pytest.mark.parametrize(("case", "votes", "per_token_error"), _success_params())
def test_success_probability_is_the_product_over_the_calls(case, votes, per_token_error):
    request = build_request(case, CostModel.FORWARD_PASS, per_token_error=per_token_error)
    evaluator = PlanEvaluator(request)
    got = evaluator.task_outcome(build_plan(request, case, votes)).success_probability
    assert got == pytest.approx(hand_success(case, votes, per_token_error), rel=1e-9, abs=0)


# ------------------------------------------------- the paper's examples, symbol for symbol

k, l, b, n, c = sympy.symbols("k l b n c", positive=True)  # noqa: E741 (the paper's names)
m_qa, m_dev, m_u, m_s, m_d = sympy.symbols("m_qa m_dev m_u m_s m_d", positive=True)


def load_example(name: str, **values: float):
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    for parameter in data["graph"]["parameters"]:
        if parameter["name"] in values:
            parameter["value"] = values[parameter["name"]]
    return load_request(data)


def plan_of(task_id: str, operator: Operator, **roles: str) -> TaskPlan:
    return TaskPlan(task_id, operator, tuple(RoleAssignment(r, m) for r, m in roles.items()))


def same(a: sympy.Expr, b_: sympy.Expr) -> bool:
    return sympy.expand(a - b_) == 0


def split_roles(cost: sympy.Expr, *models: sympy.Symbol) -> list[sympy.Expr]:
    """Each model's part of ``cost`` (n = k·l substituted), checking nothing else is left."""
    cost = sympy.expand(cost.xreplace({n: k * l}))
    parts = [cost.coeff(m) for m in models]
    assert same(cost, sum(m * part for m, part in zip(models, parts, strict=True)))
    return parts


def test_debugging_iterate_with_history_costs_the_paper_formula():
    """§3.2: the developer's chat costs m_dev·(n²·(b(b+1)/2 + b/2) − b·n/2)."""
    request = load_example("code_debugging")
    evaluator = PlanEvaluator(request)
    tp = plan_of("debug", Operator.ITERATE_WITH_HISTORY, detector="qa", fixer="dev")
    detector, fixer = split_roles(evaluator.task_cost(tp), m_qa, m_dev)
    nn = k * l
    assert same(fixer, nn**2 * (b * (b + 1) / 2 + b / 2) - b * nn / 2)
    # QA at iteration i reads the i versions so far and writes one token: Σ i·n.
    assert same(detector, nn * b * (b + 1) / 2)


def test_debugging_scan_and_fix_costs_the_paper_formula():
    """§3.2: rewriting only the b flagged functions costs m_dev·(3/2·b·l² − 1/2·b·l)."""
    request = load_example("code_debugging")
    evaluator = PlanEvaluator(request)
    tp = plan_of("debug", Operator.SCAN_AND_FIX, detector="qa", fixer="dev")
    detector, fixer = split_roles(evaluator.task_cost(tp), m_qa, m_dev)
    assert same(fixer, sympy.Rational(3, 2) * b * l**2 - sympy.Rational(1, 2) * b * l)
    assert same(detector, k * l)  # each of the k functions read once, one token written


def test_debugging_bounds_and_separation_per_role():
    """Θ(m_qa·b²·k·l + m_dev·b²·k²·l²) against Θ(m_qa·k·l + m_dev·b·l²): Θ(b²) and Θ(b·k²)."""
    request = load_example("code_debugging")
    evaluator = PlanEvaluator(request)
    chat = evaluator.evaluate(
        Plan((plan_of("debug", Operator.ITERATE_WITH_HISTORY, detector="qa", fixer="dev"),))
    )
    scan = evaluator.evaluate(
        Plan((plan_of("debug", Operator.SCAN_AND_FIX, detector="qa", fixer="dev"),))
    )
    assert same(chat.bound.expr, m_qa * b**2 * k * l + m_dev * b**2 * k**2 * l**2)
    assert same(scan.bound.expr, m_qa * k * l + m_dev * b * l**2)
    separations = {s.role: s.expr for s in evaluator.separation(chat, scan)}
    assert separations == {"m_qa": b**2, "m_dev": b * k**2}


def test_routing_costs_the_paper_formula():
    """§3.1: DIRECT(generalist of size k·m_s) = k·m_s·n; ROUTE = m_d·c + m_s·n; Θ(k)."""
    request = load_example("k_task_routing")
    evaluator = PlanEvaluator(request)
    direct = plan_of("answer", Operator.DIRECT, worker="generalist")
    route = plan_of("answer", Operator.ROUTE, delegator="d", specialist="specialist")
    assert same(evaluator.task_cost(direct), k * m_s * n)
    assert same(evaluator.task_cost(route), m_d * c + m_s * n)
    separation = evaluator.separation(
        evaluator.evaluate(Plan((direct,))), evaluator.evaluate(Plan((route,)))
    )
    assert [(s.role, s.expr) for s in separation] == [("", k)]


def test_evolution_costs_the_paper_formula():
    """§3.3 (p = 1/2 per block): GLOBAL_RETRY 2^k·m_u·(3n²−n)/2, LOCAL_RETRY k·m_u·(3l²−l)."""
    request = load_example("evolutionary_optimization")
    evaluator = PlanEvaluator(request)
    global_ = plan_of("evolve", Operator.GLOBAL_RETRY, worker="u")
    local = plan_of("evolve", Operator.LOCAL_RETRY, worker="u")
    nn = k * l
    (global_cost,) = split_roles(evaluator.task_cost(global_), m_u)
    (local_cost,) = split_roles(evaluator.task_cost(local), m_u)
    assert same(global_cost, 2**k * (3 * nn**2 - nn) / 2)
    assert same(local_cost, k * (3 * l**2 - l))
    separation = evaluator.separation(
        evaluator.evaluate(Plan((global_,))), evaluator.evaluate(Plan((local,)))
    )
    assert [(s.role, s.expr) for s in separation] == [("", 2**k * k)]


# ------------------------------------------------- beyond floats


@pytest.mark.parametrize("blocks", [1000, 2000, 5000])
def test_overflowing_costs_agree_in_log_space(blocks):
    """2^k attempts overflow a float: the big-number path must still match the symbolic cost."""
    request = load_example("evolutionary_optimization", k=blocks)
    evaluator = PlanEvaluator(request)
    tp = plan_of("evolve", Operator.GLOBAL_RETRY, worker="u")
    exact = symbolic_at_scale_point(evaluator.task_cost(tp), request)
    outcome = evaluator.task_outcome(tp)
    assert outcome.log_cost == pytest.approx(float(sympy.log(exact)), rel=1e-12)
    assert outcome.expected_cost == math.inf
    assert outcome.success_probability == 1.0


@pytest.mark.parametrize("cost_model", COST_MODELS, ids=str)
def test_a_role_that_goes_unused_costs_nothing(cost_model):
    """Only the plan's models appear: the unused catalog entries add no terms."""
    case = CASE_BY_NAME["DIRECT"]
    request = load_request(build_request_dict(case, cost_model))
    cost = PlanEvaluator(request).task_cost(build_plan(request, case))
    others = {m.size for m in request.catalog.models if m.name != ROLE_MODEL["worker"]}
    assert not cost.free_symbols & others
