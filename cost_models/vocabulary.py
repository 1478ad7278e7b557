"""The closed vocabularies of a request and a plan: cost models, operators, executors,
price lists, objectives and rankings (string enums whose values are the wire's names).

Re-exported by :mod:`aalps.cost_models.domain`, the domain model's one place.
"""

from __future__ import annotations

import enum

__all__ = [
    "CostModel",
    "Executor",
    "Objective",
    "Operator",
    "PriceList",
    "RankBy",
    "SearchObjective",
]


class CostModel(enum.StrEnum):
    """How one LLM call is charged (DESIGN §2, "Cost of one call")."""

    FORWARD_PASS = "FORWARD_PASS"
    KV_CACHED = "KV_CACHED"
    PRICED = "PRICED"
    QUADRATIC_ATTENTION = "QUADRATIC_ATTENTION"


class Operator(enum.StrEnum):
    """A decomposition of one task into LLM calls."""

    DIRECT = "DIRECT"
    ROUTE = "ROUTE"
    MAP = "MAP"
    SCAN_AND_FIX = "SCAN_AND_FIX"
    ITERATE_WITH_HISTORY = "ITERATE_WITH_HISTORY"
    ITERATE_STATELESS = "ITERATE_STATELESS"
    GLOBAL_RETRY = "GLOBAL_RETRY"
    LOCAL_RETRY = "LOCAL_RETRY"
    CHUNK_AGGREGATE = "CHUNK_AGGREGATE"
    AHEAD_BY_K = "AHEAD_BY_K"
    CASCADE = "CASCADE"


class Executor(enum.StrEnum):
    """Who runs a task: an LLM (the operators), or a tool or code (no forward pass)."""

    LLM = "LLM"
    TOOL = "TOOL"
    CODE = "CODE"


class PriceList(enum.StrEnum):
    """Which of a model's prices PRICED bills calls at (a request's ``pricing``)."""

    STANDARD = "STANDARD"
    BATCH = "BATCH"  # the batch API's prices (``batch_price_per_*_token``)


class SearchObjective(enum.StrEnum):
    """What a single-objective search minimizes (DESIGN §2, "Objective")."""

    COST_OF_PASS = "COST_OF_PASS"  # E[cost] / P(success): the cost of a correct result
    EXPECTED_COST = "EXPECTED_COST"  # E[cost], whatever the success probability


class RankBy(enum.StrEnum):
    """Which plan a result names *the* plan (DESIGN §2, "Asymptotic optimum")."""

    SCALE_POINT = "SCALE_POINT"
    ASYMPTOTIC = "ASYMPTOTIC"


class Objective(enum.StrEnum):
    """What a multi-objective search minimizes."""

    COST = "COST"
    LATENCY = "LATENCY"
    FAILURE_PROBABILITY = "FAILURE_PROBABILITY"
