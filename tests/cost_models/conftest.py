"""One-task requests for every operator, built as plain dicts (the file/wire schema).

``CASES`` lists every operator with each of its variants (LLM verifier or not, LLM
aggregator or not, ...); :func:`build_request` makes a request dict whose single task has
exactly the facts the case needs, at an integer-valued scale point (``AGREEMENT`` sizes for
the symbolic/numeric checks, ``SIMULATION`` sizes small enough to execute call by call), and
:func:`build_plan` the matching task plan. Every role gets a model of its own, with its own
size, prices and reliability, so that a formula that mixes up roles shows in the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy
from aalps.cost_models.domain import CostModel, Operator, OptimizeRequest, RoleAssignment, TaskPlan
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS

COST_MODELS = tuple(CostModel)

#: Role -> the catalog model that plays it (one model per role).
ROLE_MODEL = {
    "worker": "solver",
    "delegator": "router",
    "specialist": "expert",
    "detector": "scanner",
    "fixer": "patcher",
    "verifier": "checker",
    "aggregator": "combiner",
}

#: Model -> (capability, size, price per input token, price per output token). Sizes and
#: prices differ per model; prices are binary fractions so floats hold them exactly.
MODELS: Mapping[str, tuple[str, int, float, float]] = {
    "solver": ("solve", 3, 0.25, 1.5),
    "router": ("identify", 2, 0.125, 0.5),
    "expert": ("solve", 5, 0.375, 2.25),
    "scanner": ("detect", 2, 0.0625, 0.75),
    "patcher": ("fix", 7, 0.5, 3.0),
    "checker": ("verify", 11, 0.75, 1.25),
    "combiner": ("combine", 13, 0.625, 4.5),
}


@dataclass(frozen=True)
class Case:
    """An operator variant: the facts its task needs, its roles, its parameters."""

    name: str
    operator: Operator
    facts: frozenset[str]
    params: tuple[tuple[str, int], ...] = ()
    verifier: bool = False
    aggregator: bool = False
    whole_input: bool = False  # GLOBAL_RETRY over the whole input rather than blocks

    @property
    def random_cost(self) -> bool:
        """Whether the number of calls (hence the cost) is random."""
        return self.operator in (
            Operator.GLOBAL_RETRY,
            Operator.LOCAL_RETRY,
            Operator.AHEAD_BY_K,
        ) and not (self.operator is Operator.AHEAD_BY_K and dict(self.params)["ahead"] == 1)


def _facts(*names: str) -> frozenset[str]:
    return frozenset(names)


CASES: tuple[Case, ...] = (
    Case("DIRECT", Operator.DIRECT, _facts()),
    # A task that declares its answer discrete: its roles may vote (issue 7, item 7).
    Case("DIRECT-discrete", Operator.DIRECT, _facts("discrete")),
    # A steps task is a chain of decisions for every operator (issue 7, item 4).
    Case("DIRECT-steps", Operator.DIRECT, _facts("steps")),
    Case("MAP-steps", Operator.MAP, _facts("blocks", "steps")),
    Case("ROUTE", Operator.ROUTE, _facts("routing")),
    Case("MAP", Operator.MAP, _facts("blocks")),
    # Unverified attempts on a task with acceptance: success also needs every block right.
    Case("MAP-unverified-acceptance", Operator.MAP, _facts("blocks", "acceptance")),
    Case("SCAN_AND_FIX", Operator.SCAN_AND_FIX, _facts("blocks", "defects")),
    Case("ITERATE_WITH_HISTORY", Operator.ITERATE_WITH_HISTORY, _facts("defects")),
    Case("ITERATE_STATELESS", Operator.ITERATE_STATELESS, _facts("defects")),
    Case("GLOBAL_RETRY", Operator.GLOBAL_RETRY, _facts("blocks", "acceptance")),
    Case(
        "GLOBAL_RETRY-whole-input",
        Operator.GLOBAL_RETRY,
        _facts("acceptance"),
        whole_input=True,
    ),
    Case(
        "GLOBAL_RETRY-llm-verifier",
        Operator.GLOBAL_RETRY,
        _facts("blocks", "acceptance"),
        verifier=True,
    ),
    Case("LOCAL_RETRY", Operator.LOCAL_RETRY, _facts("blocks", "acceptance")),
    Case(
        "LOCAL_RETRY-llm-verifier",
        Operator.LOCAL_RETRY,
        _facts("blocks", "acceptance"),
        verifier=True,
    ),
    Case("CHUNK_AGGREGATE-code", Operator.CHUNK_AGGREGATE, _facts("chunkable"), (("chunk", 7),)),
    Case(
        "CHUNK_AGGREGATE-llm",
        Operator.CHUNK_AGGREGATE,
        _facts("chunkable"),
        (("chunk", 7),),
        aggregator=True,
    ),
    Case("AHEAD_BY_K-2", Operator.AHEAD_BY_K, _facts("steps"), (("ahead", 2),)),
    Case("AHEAD_BY_K-3", Operator.AHEAD_BY_K, _facts("steps"), (("ahead", 3),)),
)

CASE_BY_NAME = {case.name: case for case in CASES}


@dataclass(frozen=True)
class Scale:
    """Integer-valued sizes of the scale point, and the stochastic knobs."""

    blocks: int  # k
    block_size: int  # l
    block_output: int
    defects: int  # b
    report_tokens: int
    routing_tokens: int  # c
    prompt: int
    output: int
    steps: int
    step_tokens: int
    step_output: int
    acceptance: float
    reliability: Mapping[str, float]


#: Sizes for symbolic-vs-numeric agreement: large enough that every term matters.
AGREEMENT = Scale(
    blocks=12,
    block_size=40,
    block_output=30,
    defects=5,
    report_tokens=6,
    routing_tokens=9,
    prompt=7,
    output=25,
    steps=20,
    step_tokens=15,
    step_output=3,
    acceptance=0.75,
    reliability={
        "solver": 0.9,
        "router": 0.95,
        "expert": 0.85,
        "scanner": 0.92,
        "patcher": 0.88,
        "checker": 0.97,
        "combiner": 0.93,
    },
)

#: Sizes for the call-by-call simulation: few calls per run.
SIMULATION = Scale(
    blocks=2,
    block_size=10,
    block_output=8,
    defects=2,
    report_tokens=2,
    routing_tokens=4,
    prompt=3,
    output=6,
    steps=4,
    step_tokens=6,
    step_output=2,
    acceptance=0.7,
    reliability={
        "solver": 0.95,
        "router": 0.9,
        "expert": 0.8,
        "scanner": 0.85,
        "patcher": 0.9,
        "checker": 0.75,
        "combiner": 0.85,
    },
)


def build_request_dict(
    case: Case,
    cost_model: CostModel,
    scale: Scale = AGREEMENT,
    *,
    per_token_error: float = 0.0,
) -> dict[str, Any]:
    """The request (file/wire schema) of one task that ``case`` applies to."""
    s = scale
    facts = case.facts
    parameters = [
        {"name": "k", "description": "blocks", "value": s.blocks},
        {"name": "l", "description": "tokens per block", "value": s.block_size},
        {"name": "n", "description": "input tokens", "expr": "k*l"},
    ]
    if "defects" in facts:
        parameters.append({"name": "b", "description": "defects", "value": s.defects})
    if "routing" in facts:
        parameters.append(
            {
                "name": "c",
                "description": "routing tokens",
                "value": s.routing_tokens,
                "grows": False,
            }
        )
    if "steps" in facts:
        parameters.append({"name": "q", "description": "steps", "value": s.steps})
    task: dict[str, Any] = {
        "id": "t",
        "capability": "solve",
        "input_tokens": "n",
        "output_tokens": str(s.output),
        "prompt_tokens": str(s.prompt),
    }
    if "discrete" in facts:
        task["discrete"] = True
    if "blocks" in facts:
        task["blocks"] = {"count": "k", "size": "l", "output": str(s.block_output)}
    if "routing" in facts:
        task["routing"] = {"tokens": "c", "capability": "identify"}
    if "defects" in facts:
        task["defects"] = {"count": "b", "report_tokens": str(s.report_tokens)}
        task["role_capabilities"] = {"detector": "detect", "fixer": "fix"}
    if "acceptance" in facts:
        task["acceptance"] = {"success_probability": str(s.acceptance)}
        if case.verifier:
            task["acceptance"]["verifier"] = "verify"
    if "chunkable" in facts:
        task["chunkable"] = {"aggregate_tokens": "chunk/4 + 1"}
        if case.aggregator:
            task["chunkable"]["aggregator"] = "combine"
    if "steps" in facts:
        task["steps"] = {
            "count": "q",
            "tokens": str(s.step_tokens),
            "output": str(s.step_output),
        }
    models = []
    for name, (capability, size, price_in, price_out) in MODELS.items():
        model: dict[str, Any] = {
            "name": name,
            "size": str(size),
            "capabilities": {capability: s.reliability[name]},
            "price_per_input_token": price_in,
            "price_per_output_token": price_out,
        }
        if per_token_error:
            model["per_token_error"] = per_token_error
        models.append(model)
    return {
        "graph": {"name": case.name, "parameters": parameters, "tasks": [task]},
        "catalog": {"models": models},
        "cost_model": cost_model.value,
    }


def build_request(
    case: Case,
    cost_model: CostModel,
    scale: Scale = AGREEMENT,
    *,
    per_token_error: float = 0.0,
) -> OptimizeRequest:
    return load_request(
        build_request_dict(case, cost_model, scale, per_token_error=per_token_error)
    )


def votable_roles(request: OptimizeRequest, case: Case) -> tuple[str, ...]:
    task = request.graph.task_by_id["t"]
    return tuple(r.name for r in OPERATORS[case.operator].roles(task) if r.votable)


def build_plan(request: OptimizeRequest, case: Case, votes: int = 1) -> TaskPlan:
    """The case's task plan: every role on its own model, ``votes`` on every votable role."""
    task = request.graph.task_by_id["t"]
    roles = tuple(
        RoleAssignment(r.name, ROLE_MODEL[r.name], votes if r.votable else 1)
        for r in OPERATORS[case.operator].roles(task)
    )
    return TaskPlan("t", case.operator, roles, tuple(sorted(case.params)))


def scale_point(request: OptimizeRequest) -> dict[sympy.Symbol, sympy.Rational]:
    """Every symbol of a symbolic cost -> its exact value (parameters and model sizes)."""
    point: dict[sympy.Symbol, sympy.Rational] = {
        symbol: sympy.Rational(repr(value)) for symbol, value in request.graph.values.items()
    }
    for model in request.catalog.models:
        if model.size.is_Symbol and model.size not in point:
            point[model.size] = sympy.Rational(repr(model.size_value))
    return point
