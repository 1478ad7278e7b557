"""Requests and plans from plain data (YAML, JSON, or a proto message turned into a dict).

One schema for files and the wire: the keys are the proto field names (DESIGN §5). Every
problem is collected with its field path and raised together as an
:class:`~aalps.cost_models.errors.InvalidRequestError`, so a caller fixes a request in one round.

One value is read by the readers of :mod:`aalps.cost_models.fields`; a task by
:func:`~aalps.cost_models.task_facts.read_task`, whose table of fact readers holds one small
function per task fact; a model by :func:`~aalps.cost_models.model_reading.read_model`.
This module reads the rest: parameters, edges, constraints, search options, and
caller-supplied plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx
from aalps.cost_models._expression_guards import Rejected
from aalps.cost_models.cascade_facts import check_cascade_models
from aalps.cost_models.domain import (
    Catalog,
    Constraints,
    CostModel,
    Edge,
    Model,
    Objective,
    OptimizeRequest,
    PriceList,
    PromptCache,
    RankBy,
    SearchObjective,
    SearchOptions,
    Task,
    TaskGraph,
)
from aalps.cost_models.errors import ExpressionError, Violations, did_you_mean
from aalps.cost_models.expressions import parse_assumption
from aalps.cost_models.fields import (
    ExpressionReader,
    check_keys,
    read_enum,
    read_list,
    read_mapping,
    read_number,
)
from aalps.cost_models.magnitudes import check_structure
from aalps.cost_models.model_reading import read_model
from aalps.cost_models.parameters import read_parameters
from aalps.cost_models.prices import (
    batch_prices,
)
from aalps.cost_models.prompt_cache import read_prompt_cache
from aalps.cost_models.setup_costs import read_volume
from aalps.cost_models.task_facts import read_task

__all__ = [
    "MAX_MODELS",
    "MAX_PARAMETERS",
    "MAX_TASKS",
    "MAX_TRIALS",
    "load_request",
]

#: The request options of issue 14 (:mod:`.prompt_cache`, :mod:`.setup_costs`).
EXTRA_KEYS = frozenset({"prompt_cache", "volume"})

#: Caps that keep one request small enough to serve (the service may lower them).
MAX_TASKS = 5000
MAX_MODELS = 500
MAX_PARAMETERS = 200
MAX_TRIALS = 1_000_000


def _graph_structure(
    tasks: list[Task],
    raw_edges: list[Any],
    ex: ExpressionReader,
    errors: Violations,
    rejected: frozenset[str] = frozenset(),
) -> tuple[Edge, ...]:
    """The edges between ``tasks``; an edge to a ``rejected`` task (one whose own errors
    are reported) is dropped without a second, false "no task with id" error."""
    ids = {t.id for t in tasks}
    edges = []
    by_id = {t.id: t for t in tasks}
    for i, item in enumerate(raw_edges):
        field = f"graph.edges[{i}]"
        data = read_mapping(item, field, errors)
        check_keys(data, {"source", "target", "tokens"}, field, errors)
        ok = True
        for end in ("source", "target"):
            name = data.get(end)
            if name in ids:
                continue
            ok = False
            if name not in rejected:
                hint = did_you_mean(name, sorted(ids)) if isinstance(name, str) else ""
                errors.add(
                    f"{field}.{end}", f"no task with id {name!r}" + (f"; {hint}" if hint else "")
                )
        if not ok:
            continue
        default = by_id[data["source"]].output_tokens
        tokens = ex.parse(
            data.get("tokens"), f"{field}.tokens", errors, default=default, allow_zero=True
        )
        edges.append(
            Edge(data["source"], data["target"], tokens if tokens is not None else default)
        )
    dag = nx.DiGraph()
    dag.add_nodes_from(ids)
    dag.add_edges_from((e.source, e.target) for e in edges)
    try:
        cycle = nx.find_cycle(dag)
    except nx.NetworkXNoCycle:
        cycle = []
    if cycle:
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        errors.add("graph.edges", f"the task graph has a cycle: {path}")
    return tuple(edges)


def load_request(
    data: Any, *, max_tasks: int = MAX_TASKS, max_models: int = MAX_MODELS
) -> OptimizeRequest:
    """Validate plain data into an :class:`OptimizeRequest`, reporting every violation.

    Raises
    ------
    InvalidRequestError
        with one :class:`~aalps.cost_models.errors.FieldViolation` per problem found.
    """
    errors = Violations()
    root = read_mapping(data, "", errors)
    errors.raise_if_any()
    check_keys(
        root,
        {"graph", "catalog", "cost_model", "constraints", "search", "pricing"} | EXTRA_KEYS,
        "",
        errors,
    )
    graph_raw = read_mapping(root.get("graph"), "graph", errors)
    check_keys(graph_raw, {"name", "parameters", "assumptions", "tasks", "edges"}, "graph", errors)
    params, symbols, far = read_parameters(
        read_list(graph_raw.get("parameters"), "graph.parameters", errors, MAX_PARAMETERS), errors
    )
    definitions = {p.symbol: p.expr for p in params if p.expr is not None}
    ex = ExpressionReader(symbols, {p.symbol: p.value for p in params}, far, definitions)
    assumptions = []
    for i, text in enumerate(
        read_list(graph_raw.get("assumptions"), "graph.assumptions", errors, 50)
    ):
        try:
            assumptions.append(
                parse_assumption(str(text), symbols=symbols, field=f"graph.assumptions[{i}]")
            )
            check_structure(assumptions[-1].xreplace(definitions))
        except ExpressionError as error:
            errors.extend(error)
        except Rejected as error:
            errors.add(f"graph.assumptions[{i}]", str(error))
    catalog_raw = read_mapping(root.get("catalog"), "catalog", errors)
    check_keys(catalog_raw, {"models"}, "catalog", errors)
    models: list[Model] = []
    for i, item in enumerate(
        read_list(catalog_raw.get("models"), "catalog.models", errors, max_models)
    ):
        model = read_model(
            read_mapping(item, f"catalog.models[{i}]", errors), f"catalog.models[{i}]", ex, errors
        )
        if model is None:
            continue
        if any(m.name == model.name for m in models):
            errors.add(f"catalog.models[{i}].name", f"duplicate model {model.name!r}")
        elif (
            model.size.is_Symbol
            and model.size.name == f"m_{model.name}"
            and (model.size.name in symbols)
        ):
            errors.add(
                f"catalog.models[{i}].name",
                f"its size symbol {model.size.name} clashes with a parameter of that name",
            )
        else:
            models.append(model)
    if not models and not errors:
        errors.add("catalog.models", "the catalog needs at least one model")
    tasks: list[Task] = []
    raw_tasks = read_list(graph_raw.get("tasks"), "graph.tasks", errors, max_tasks)
    if not raw_tasks and "graph.tasks" not in {v.field for v in errors.items}:
        errors.add("graph.tasks", "the graph needs at least one task")
    for i, item in enumerate(raw_tasks):
        field = f"graph.tasks[{i}]"
        task = read_task(read_mapping(item, field, errors), field, ex, errors)
        if task is None:
            continue
        if any(t.id == task.id for t in tasks):
            errors.add(f"{field}.id", f"duplicate task id {task.id!r}")
        else:
            tasks.append(task)
            check_cascade_models([(i, task)], (m.name for m in models), errors)
    rejected = frozenset(
        str(item.get("id")) for item in raw_tasks if isinstance(item, Mapping) and item.get("id")
    ) - {t.id for t in tasks}
    edges = _graph_structure(
        tasks,
        read_list(graph_raw.get("edges"), "graph.edges", errors, 10 * max_tasks),
        ex,
        errors,
        rejected,
    )
    cost_model = read_enum(
        CostModel, root.get("cost_model"), "cost_model", errors, CostModel.FORWARD_PASS
    )
    constraints = _constraints(read_mapping(root.get("constraints"), "constraints", errors), errors)
    search = _search(read_mapping(root.get("search"), "search", errors), errors)
    pricing = read_enum(PriceList, root.get("pricing"), "pricing", errors, PriceList.STANDARD)
    cache = PromptCache(*read_prompt_cache(root.get("prompt_cache"), errors))
    volume = read_volume(root.get("volume"), errors)
    if pricing is PriceList.BATCH and cost_model is CostModel.PRICED:
        models = batch_prices(models, errors)
    if cost_model is CostModel.PRICED:
        for i, m in enumerate(models):
            if m.price_per_input_token == 0 and m.price_per_output_token == 0:
                errors.add(f"catalog.models[{i}].price_per_input_token", "PRICED needs prices")
    errors.raise_if_any()
    graph = TaskGraph(
        name=str(graph_raw.get("name") or ""),
        parameters=params,
        tasks=tuple(tasks),
        edges=edges,
        assumptions=tuple(assumptions),
    )
    return OptimizeRequest(
        graph=graph,
        catalog=Catalog(tuple(models)),
        cost_model=cost_model or CostModel.FORWARD_PASS,
        constraints=constraints,
        search=search,
        pricing=pricing or PriceList.STANDARD,
        prompt_cache=cache,
        volume=volume,
    )


def _constraints(data: Mapping[str, Any], errors: Violations) -> Constraints:
    check_keys(
        data,
        {"min_success_probability", "max_cost", "max_latency", "parallelism"},
        "constraints",
        errors,
    )
    f = "constraints."
    parallelism = read_number(data.get("parallelism"), f + "parallelism", errors, low=0.0)
    if parallelism is not None and parallelism != int(parallelism):
        errors.add(f + "parallelism", "must be an integer")
    return Constraints(
        min_success_probability=read_number(
            data.get("min_success_probability"),
            f + "min_success_probability",
            errors,
            low=0.0,
            high=1.0,
        )
        or None,
        max_cost=read_number(data.get("max_cost"), f + "max_cost", errors, low=0.0, low_open=True),
        max_latency=read_number(
            data.get("max_latency"), f + "max_latency", errors, low=0.0, low_open=True
        ),
        parallelism=int(parallelism) if parallelism else None,
    )


def _search(data: Mapping[str, Any], errors: Violations) -> SearchOptions:
    check_keys(
        data,
        {"n_trials", "timeout_seconds", "seed", "objectives", "objective", "rank_by"},
        "search",
        errors,
    )
    n_trials = read_number(data.get("n_trials"), "search.n_trials", errors, low=0, high=MAX_TRIALS)
    timeout = read_number(data.get("timeout_seconds"), "search.timeout_seconds", errors, low=0.0)
    seed = read_number(data.get("seed"), "search.seed", errors, low=0, high=2**32 - 1)
    objectives = []
    for i, item in enumerate(read_list(data.get("objectives"), "search.objectives", errors, 3)):
        objective = read_enum(Objective, item, f"search.objectives[{i}]", errors, None)
        if objective is not None and objective not in objectives:
            objectives.append(objective)
    goal = read_enum(SearchObjective, data.get("objective"), "search.objective", errors, None)
    rank_by = read_enum(RankBy, data.get("rank_by"), "search.rank_by", errors, None)
    return SearchOptions(
        n_trials=int(n_trials) if n_trials else SearchOptions.n_trials,
        timeout_seconds=timeout or None,
        seed=int(seed or 0),
        objectives=tuple(objectives),
        objective=goal or SearchObjective.COST_OF_PASS,
        rank_by=rank_by or RankBy.SCALE_POINT,
    )
