"""The domain model: requests, task graphs, catalogs and plans, free of protobuf.

Every record is frozen and already validated: instances come from
:func:`aalps.cost_models.loading.load_request` (files, the wire) or are built by tests. Sizes are
sympy expressions over the graph's parameter symbols (all positive), so that the same
record serves symbolic bounds and numeric evaluation at the scale point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import networkx as nx
import sympy
from aalps.cost_models.vocabulary import (
    CostModel,
    Executor,
    Objective,
    Operator,
    PriceList,
    RankBy,
    SearchObjective,
)

__all__ = [
    "Acceptance",
    "Blocks",
    "CHUNK",
    "Cascade",
    "CascadeRates",
    "Catalog",
    "Chunkable",
    "Constraints",
    "CostModel",
    "Defects",
    "Edge",
    "Executor",
    "Model",
    "Objective",
    "Operator",
    "OptimizeRequest",
    "Parameter",
    "Plan",
    "PriceList",
    "PromptCache",
    "RankBy",
    "RoleAssignment",
    "Routing",
    "SearchObjective",
    "SearchOptions",
    "Steps",
    "Task",
    "TaskGraph",
    "TaskPlan",
    "TokenPrices",
    "VoteShare",
    "Tool",
]

#: The reserved symbol of ``chunkable.aggregate_tokens``: the chunk size.
CHUNK = sympy.Symbol("chunk", positive=True)


@dataclass(frozen=True)
class Parameter:
    """A size symbol of the task graph; ``value`` is its scale point."""

    name: str
    symbol: sympy.Symbol
    value: float
    grows: bool = True
    expr: sympy.Expr | None = None
    description: str = ""


@dataclass(frozen=True)
class TokenPrices:
    """One price list of a model, per token (exact rationals; 0: not listed)."""

    input: sympy.Rational = sympy.Integer(0)
    output: sympy.Rational = sympy.Integer(0)
    cached_input: sympy.Rational = sympy.Integer(0)
    cache_write: sympy.Rational = sympy.Integer(0)


@dataclass(frozen=True)
class CascadeRates:
    """How a model fares as a CASCADE stage (FrugalGPT's scorer and threshold, measured).

    ``accept_rate``: the share of inputs on which the model's confidence passes its
    threshold, so the cascade stops at it; ``accepted_accuracy``: the chance its answer is
    right on those inputs (None: the model's reliability for the capability).
    """

    accept_rate: sympy.Rational
    accepted_accuracy: sympy.Rational | None = None


@dataclass(frozen=True)
class Tool:
    """A step run by a tool or by code: one call's price (PRICED's currency), its latency
    and the chance that it fails. It makes no LLM forward pass, so every other cost model
    charges it nothing (:mod:`aalps.cost_models.tools`)."""

    price_per_call: sympy.Rational = sympy.Integer(0)
    latency: float = 0.0
    failure_rate: sympy.Rational = sympy.Integer(0)


@dataclass(frozen=True)
class PromptCache:
    """A request's prompt caching (:mod:`aalps.cost_models.prompt_cache`).

    ``enabled`` None: the cost model's default (on for PRICED where a model lists a
    cache-read price, off for the others). ``lifetime`` is how many calls one cache write
    serves (0: the whole call group).
    """

    enabled: bool | None = None
    lifetime: int = 0


@dataclass(frozen=True)
class Model:
    """One catalog entry. ``size`` is ``m_<name>`` or the expression the catalog gave.

    Prices are exact rationals (a price table's decimal figures, kept as written). Under
    ``pricing: BATCH`` the loader has already put the batch prices in the standard fields
    (``price_per_*``, ``tier_prices``). The cache and tier prices are PRICED's
    (:mod:`aalps.cost_models.call_costs`); zero or None means the model has none.
    """

    name: str
    size: sympy.Expr
    size_value: float
    capabilities: Mapping[str, sympy.Rational]
    price_per_input_token: sympy.Rational = sympy.Integer(0)
    price_per_output_token: sympy.Rational = sympy.Integer(0)
    context_window: float = 0.0
    per_variant: bool = False
    latency_per_token: float = 1.0
    per_token_error: sympy.Rational = sympy.Integer(0)
    source_key: str = ""
    price_per_cached_input_token: sympy.Rational = sympy.Integer(0)
    price_per_cache_write_token: sympy.Rational = sympy.Integer(0)
    batch_prices: TokenPrices | None = None
    tier_threshold_tokens: float = 0.0
    tier_prices: TokenPrices | None = None
    batch_tier_prices: TokenPrices | None = None
    #: Capability -> the model's figures as a CASCADE stage (absent: only a last stage).
    cascade: Mapping[str, CascadeRates] = field(default_factory=dict)
    #: Intra-model correlation ρ in [0, 1] of the samples of one input (votes, AHEAD_BY_K);
    #: ``vote_correlations`` overrides it per capability. 0: independent samples.
    vote_correlation: float = 0.0
    vote_correlations: Mapping[str, float] = field(default_factory=dict)

    #: A one-time cost (demonstrations, prompt optimization, fine-tuning) paid once per
    #: task role that uses this model, amortized over the request's ``volume``.
    setup_cost: sympy.Rational = sympy.Integer(0)

    def correlation(self, capability: str) -> float:
        """ρ of this model's samples on ``capability`` (:mod:`.correlated_votes`)."""
        return self.vote_correlations.get(capability, self.vote_correlation)

    def fits(self, tokens: float) -> bool:
        """Whether a call that holds ``tokens`` (input + output) fits the context window."""
        return self.context_window <= 0 or tokens <= self.context_window


@dataclass(frozen=True)
class Blocks:
    count: sympy.Expr
    size: sympy.Expr
    output: sympy.Expr


@dataclass(frozen=True)
class Routing:
    tokens: sympy.Expr
    capability: str = ""
    #: The router is code (no delegator LLM call): its price, latency and failure rate.
    code_router: Tool | None = None


@dataclass(frozen=True)
class Defects:
    count: sympy.Expr
    report_tokens: sympy.Expr = sympy.Integer(0)
    #: At most this many iterations of ITERATE_*; None: no cap.
    max_iterations: int | None = None


@dataclass(frozen=True)
class Acceptance:
    success_probability: sympy.Expr
    verifier: str = ""
    #: At most this many attempts per retried unit (LOCAL_RETRY: per block, GLOBAL_RETRY:
    #: the whole); None: retry until accepted.
    max_attempts: int | None = None


@dataclass(frozen=True)
class Chunkable:
    aggregate_tokens: sympy.Expr
    aggregator: str = ""


@dataclass(frozen=True)
class Steps:
    count: sympy.Expr
    tokens: sympy.Expr
    output: sympy.Expr = sympy.Integer(1)


@dataclass(frozen=True)
class Cascade:
    """The task may run as a cascade of up to ``max_stages`` models (unlocks CASCADE).

    ``rates`` (model name -> rates) overrides the catalog's ``cascade`` figures on this task.
    """

    max_stages: int = 3
    rates: Mapping[str, CascadeRates] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One node of the task graph with its structure facts (the paper's oracle decompositions)."""

    id: str
    capability: str
    input_tokens: sympy.Expr
    output_tokens: sympy.Expr = sympy.Integer(1)
    prompt_tokens: sympy.Expr = sympy.Integer(0)
    role_capabilities: Mapping[str, str] = field(default_factory=dict)
    blocks: Blocks | None = None
    routing: Routing | None = None
    defects: Defects | None = None
    acceptance: Acceptance | None = None
    chunkable: Chunkable | None = None
    steps: Steps | None = None
    cascade: Cascade | None = None
    baseline: Operator | None = None
    discrete: bool = False
    executor: Executor = Executor.LLM
    tool: Tool | None = None

    def role_capability(self, operator: Operator, role: str, default: str | None = None) -> str:
        """The capability a role needs.

        ``role_capabilities`` keyed ``"<OPERATOR>.<role>"`` wins over the plain ``"<role>"``
        key, which wins over the operator's default (e.g. ``routing.capability``) and the
        task's ``capability``.
        """
        caps = self.role_capabilities
        return caps.get(f"{operator}.{role}") or caps.get(role) or default or self.capability


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    tokens: sympy.Expr


@dataclass(frozen=True)
class TaskGraph:
    """Tasks, edges and the parameters their sizes are written in."""

    name: str
    parameters: tuple[Parameter, ...]
    tasks: tuple[Task, ...]
    edges: tuple[Edge, ...] = ()
    assumptions: tuple[sympy.core.relational.Relational, ...] = ()

    @cached_property
    def dag(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(task.id for task in self.tasks)
        graph.add_edges_from((e.source, e.target) for e in self.edges)
        return graph

    @cached_property
    def task_by_id(self) -> Mapping[str, Task]:
        return {task.id: task for task in self.tasks}

    @cached_property
    def substitutions(self) -> Mapping[sympy.Symbol, sympy.Expr]:
        """Defined parameters in terms of free ones (``n -> k*l``), fully resolved."""
        subs: dict[sympy.Symbol, sympy.Expr] = {}
        for p in self.parameters:
            if p.expr is not None:
                subs[p.symbol] = p.expr
        for _ in range(len(subs)):
            subs = {s: e.xreplace(subs) for s, e in subs.items()}
        return subs

    @cached_property
    def values(self) -> Mapping[sympy.Symbol, float]:
        """The scale point: every parameter symbol's numeric value."""
        return {p.symbol: p.value for p in self.parameters}

    @cached_property
    def growing(self) -> frozenset[sympy.Symbol]:
        return frozenset(p.symbol for p in self.parameters if p.grows and p.expr is None)

    def incoming_tokens(self, task_id: str) -> sympy.Expr:
        return sympy.Add(*(e.tokens for e in self.edges if e.target == task_id))


@dataclass(frozen=True)
class Catalog:
    models: tuple[Model, ...]

    @cached_property
    def by_name(self) -> Mapping[str, Model]:
        return {m.name: m for m in self.models}


@dataclass(frozen=True)
class Constraints:
    """Constraints over the whole plan; any of them couples the tasks."""

    min_success_probability: float | None = None
    max_cost: float | None = None
    max_latency: float | None = None
    parallelism: int | None = None

    @property
    def coupled(self) -> bool:
        return any(
            v is not None for v in (self.min_success_probability, self.max_cost, self.max_latency)
        )


@dataclass(frozen=True)
class SearchOptions:
    n_trials: int = 200
    timeout_seconds: float | None = None
    seed: int = 0
    objectives: tuple[Objective, ...] = ()
    objective: SearchObjective = SearchObjective.COST_OF_PASS
    rank_by: RankBy = RankBy.SCALE_POINT


@dataclass(frozen=True)
class OptimizeRequest:
    graph: TaskGraph
    catalog: Catalog
    cost_model: CostModel = CostModel.FORWARD_PASS
    constraints: Constraints = Constraints()
    search: SearchOptions = SearchOptions()
    pricing: PriceList = PriceList.STANDARD
    prompt_cache: PromptCache = PromptCache()
    #: Runs over the plan's life: setup costs are amortized over them.
    volume: float = 1.0

    @cached_property
    def model_symbols(self) -> frozenset[sympy.Symbol]:
        """Symbols that stand for model sizes: kept as factors in bounds."""
        growing = self.graph.growing
        symbols: set[sympy.Symbol] = set()
        for model in self.catalog.models:
            symbols |= {s for s in model.size.free_symbols if s not in growing}
        return frozenset(symbols)


# --- plans -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteShare:
    """One model's share of an ensemble role's votes."""

    model: str
    votes: int


@dataclass(frozen=True)
class RoleAssignment:
    """The model (and votes) of one role, or an ensemble of models sharing its votes.

    With ``ensemble`` (two or more distinct models, built by
    :func:`~aalps.cost_models.ensemble_roles.ensemble_role`),
    ``model`` is the first share's model and ``votes`` the total of the shares: code that
    reads only those sees the role's lead model and vote count.
    """

    role: str
    model: str
    votes: int = 1
    ensemble: tuple[VoteShare, ...] = ()

    @property
    def members(self) -> tuple[tuple[str, int], ...]:
        """(model, votes) of every model that answers for the role (one without ensemble)."""
        if self.ensemble:
            return tuple((s.model, s.votes) for s in self.ensemble)
        return ((self.model, self.votes),)


@dataclass(frozen=True)
class TaskPlan:
    """How one task runs: an operator, a model (and vote count) per role, parameters."""

    task_id: str
    operator: Operator
    roles: tuple[RoleAssignment, ...]
    params: tuple[tuple[str, int], ...] = ()

    #: The plan's hash once worked out (an instance attribute then; not a field).
    _hash: ClassVar[int | None] = None

    def __hash__(self) -> int:
        # Task plans key the evaluator's caches: hash once per object, not per look-up
        # (read as an attribute: the class's None until the instance has its own).
        cached = self._hash
        if cached is None:
            cached = hash((self.task_id, self.operator, self.roles, self.params))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        # The cached hash stays behind: another process hashes strings with its own seed.
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state

    @property
    def role_map(self) -> Mapping[str, RoleAssignment]:
        return {r.role: r for r in self.roles}

    @property
    def param_map(self) -> Mapping[str, int]:
        return dict(self.params)


@dataclass(frozen=True)
class Plan:
    tasks: tuple[TaskPlan, ...]
