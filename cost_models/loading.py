"""Requests and plans from plain data (YAML, JSON, or a proto message turned into a dict).

One schema for files and the wire: the keys are the proto field names (DESIGN §5). Every
problem is collected with its field path and raised together as an
:class:`~aalps.cost_models.errors.InvalidRequestError`, so a caller fixes a request in one round.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import networkx as nx
import sympy
from aalps.cost_models.domain import (
    CHUNK,
    Acceptance,
    Blocks,
    Catalog,
    Chunkable,
    Constraints,
    CostModel,
    Defects,
    Edge,
    Model,
    Objective,
    Operator,
    OptimizeRequest,
    Parameter,
    Plan,
    RankBy,
    RoleAssignment,
    Routing,
    SearchObjective,
    SearchOptions,
    Steps,
    Task,
    TaskGraph,
    TaskPlan,
)
from aalps.cost_models.errors import ExpressionError, Violations
from aalps.cost_models.expressions import expression_symbols, parse_assumption, parse_expression

#: Caps that keep one request small enough to serve (the service may lower them).
MAX_TASKS = 5000
MAX_MODELS = 500
MAX_PARAMETERS = 200
MAX_TRIALS = 1_000_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_RESERVED = {"chunk", "log", "exp", "min", "max", "ceil", "floor"}

E = TypeVar("E", bound=Any)


def _enum(cls: type[E], value: Any, field: str, errors: Violations, default: E | None) -> E | None:
    if value in (None, "", 0) or (isinstance(value, str) and value.endswith("_UNSPECIFIED")):
        return default
    if isinstance(value, str) and value in cls.__members__:
        return cls[value]
    allowed = ", ".join(cls.__members__)
    errors.add(field, f"unknown value {value!r}; expected one of {allowed}")
    return default


def _mapping(value: Any, field: str, errors: Violations) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add(field, "must be an object")
        return {}
    return value


def _list(value: Any, field: str, errors: Violations, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(field, "must be a list")
        return []
    if len(value) > limit:
        errors.add(field, f"has {len(value)} entries; at most {limit} are accepted")
        return []
    return value


def _unknown_keys(data: Mapping[str, Any], known: set[str], field: str, errors: Violations) -> None:
    for key in data:
        if key not in known:
            errors.add(f"{field}.{key}" if field else str(key), "unknown field")


def _number(
    value: Any,
    field: str,
    errors: Violations,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    default: float | None = None,
) -> float | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        errors.add(field, "must be a number")
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(field, f"must be a number, not {str(value)[:40]!r}")
        return default
    if not math.isfinite(number):
        errors.add(field, "must be finite")
        return default
    if low is not None and (number < low or (low_open and number == low)):
        errors.add(field, f"must be {'>' if low_open else '>='} {low:g}, got {number:g}")
        return default
    if high is not None and number > high:
        errors.add(field, f"must be <= {high:g}, got {number:g}")
        return default
    return number


def _probability(value: Any, field: str, errors: Violations) -> sympy.Rational | None:
    number = _number(value, field, errors, low=0.0, high=1.0, low_open=True)
    return None if number is None else sympy.Rational(repr(number))


class _Expressions:
    """Parses expression fields over the declared symbols and checks their scale-point value."""

    def __init__(self, symbols: Mapping[str, sympy.Symbol], values: Mapping[sympy.Symbol, float]):
        self.symbols = symbols
        self.values = {s: sympy.Float(v, 30) for s, v in values.items()}

    def parse(
        self,
        value: Any,
        field: str,
        errors: Violations,
        *,
        default: sympy.Expr | None = None,
        positive: bool = True,
        allow_zero: bool = False,
        extra: Mapping[str, sympy.Symbol] | None = None,
    ) -> sympy.Expr | None:
        if value is None or value == "":
            return default
        symbols = {**self.symbols, **(extra or {})}
        try:
            expr = parse_expression(value, symbols=symbols, field=field)
        except ExpressionError as error:
            errors.extend(error)
            return default
        if positive and not (expr.free_symbols - set(self.values) - {CHUNK}):
            # (a parameter that failed validation was reported already: no cascade here)
            point = expr.xreplace({**self.values, CHUNK: sympy.Integer(1)})
            try:
                number = float(sympy.N(point, 20))
            except (TypeError, ValueError, OverflowError):
                errors.add(field, "does not evaluate to a real number at the scale point")
                return default
            if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
                errors.add(
                    field, f"must be {'>= 0' if allow_zero else 'positive'}, is {number:g} here"
                )
                return default
        return expr


def _parameters(
    raw: list[Any], errors: Violations
) -> tuple[tuple[Parameter, ...], dict[str, sympy.Symbol]]:
    """Declared parameters, defined ones (``expr``) resolved in dependency order."""
    symbols: dict[str, sympy.Symbol] = {}
    entries: list[tuple[int, Mapping[str, Any]]] = []
    for i, item in enumerate(raw):
        field = f"graph.parameters[{i}]"
        data = _mapping(item, field, errors)
        _unknown_keys(data, {"name", "description", "value", "grows", "expr"}, field, errors)
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.match(name) or keyword.iskeyword(name):
            errors.add(f"{field}.name", f"must be an identifier, got {name!r}")
            continue
        if name in _RESERVED:
            errors.add(f"{field}.name", f"{name!r} is reserved")
            continue
        if name in symbols:
            errors.add(f"{field}.name", f"duplicate parameter {name!r}")
            continue
        symbols[name] = sympy.Symbol(name, positive=True)
        entries.append((i, data))
    deps = nx.DiGraph()
    for i, data in entries:
        deps.add_node(data["name"])
        if data.get("expr") not in (None, ""):
            try:
                used = expression_symbols(data["expr"], field=f"graph.parameters[{i}].expr")
            except ExpressionError as error:
                errors.extend(error)
                continue
            deps.add_edges_from((u, data["name"]) for u in used if u in symbols)
    try:
        order = list(nx.topological_sort(deps))
    except nx.NetworkXUnfeasible:
        cycle = " -> ".join(u for u, _ in nx.find_cycle(deps))
        errors.add("graph.parameters", f"parameter definitions form a cycle: {cycle}")
        return (), symbols
    by_name = {data["name"]: (i, data) for i, data in entries}
    values: dict[sympy.Symbol, float] = {}
    params: dict[str, Parameter] = {}
    for name in order:
        i, data = by_name[name]
        field = f"graph.parameters[{i}]"
        symbol = symbols[name]
        grows = data.get("grows", True)
        if not isinstance(grows, bool):
            errors.add(f"{field}.grows", "must be true or false")
            grows = True
        expr = None
        value = _number(data.get("value"), f"{field}.value", errors, low=0.0, low_open=True)
        if data.get("expr") not in (None, ""):
            expr = _Expressions(symbols, values).parse(data["expr"], f"{field}.expr", errors)
            if expr is None:
                continue
            if expr.free_symbols - set(values):
                continue  # an undefined dependency was reported already
            derived = float(
                sympy.N(expr.xreplace({s: sympy.Float(v, 30) for s, v in values.items()}), 20)
            )
            if value is not None and not math.isclose(value, derived, rel_tol=1e-9):
                errors.add(f"{field}.value", f"is {value:g} but expr gives {derived:g}")
            value = derived
        elif value is None:
            errors.add(f"{field}.value", "needs a positive scale-point value (or an expr)")
            continue
        values[symbol] = value
        description = str(data.get("description") or "")
        params[name] = Parameter(name, symbol, value, grows, expr, description)
    ordered = tuple(params[data["name"]] for _, data in entries if data["name"] in params)
    return ordered, symbols


_TASK_KEYS = {
    "id",
    "capability",
    "role_capabilities",
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "blocks",
    "routing",
    "defects",
    "acceptance",
    "chunkable",
    "steps",
    "baseline",
    "discrete",
}


def _task(data: Mapping[str, Any], field: str, ex: _Expressions, errors: Violations) -> Task | None:
    _unknown_keys(data, _TASK_KEYS, field, errors)
    task_id = data.get("id")
    if not isinstance(task_id, str) or not task_id.strip() or len(task_id) > 128:
        errors.add(f"{field}.id", "must be a non-empty string of at most 128 characters")
        return None
    capability = data.get("capability")
    roles = _mapping(data.get("role_capabilities"), f"{field}.role_capabilities", errors)
    if not capability and not roles:
        errors.add(f"{field}.capability", "a task needs a capability (or role_capabilities)")
    one = sympy.Integer(1)
    parse = ex.parse

    def fact(name: str, keys: set[str]) -> Mapping[str, Any] | None:
        if data.get(name) is None:
            return None
        value = _mapping(data[name], f"{field}.{name}", errors)
        _unknown_keys(value, keys, f"{field}.{name}", errors)
        return value

    input_tokens = parse(data.get("input_tokens"), f"{field}.input_tokens", errors, allow_zero=True)
    blocks = routing = defects = acceptance = chunkable = steps = None
    if (b := fact("blocks", {"count", "size", "output"})) is not None:
        count = parse(b.get("count"), f"{field}.blocks.count", errors)
        size = parse(b.get("size"), f"{field}.blocks.size", errors)
        if count is None or size is None:
            if b.get("count") is None:
                errors.add(f"{field}.blocks.count", "is required")
            if b.get("size") is None:
                errors.add(f"{field}.blocks.size", "is required")
        else:
            output = parse(b.get("output"), f"{field}.blocks.output", errors, default=size)
            blocks = Blocks(count, size, output or size)
    if (r := fact("routing", {"tokens", "capability"})) is not None:
        tokens = parse(r.get("tokens"), f"{field}.routing.tokens", errors, default=one)
        routing = Routing(tokens or one, str(r.get("capability") or ""))
    if (d := fact("defects", {"count", "report_tokens"})) is not None:
        count = parse(d.get("count"), f"{field}.defects.count", errors)
        report = parse(
            d.get("report_tokens"),
            f"{field}.defects.report_tokens",
            errors,
            default=sympy.Integer(0),
            allow_zero=True,
        )
        if count is None:
            if d.get("count") is None:
                errors.add(f"{field}.defects.count", "is required")
        else:
            defects = Defects(count, report if report is not None else sympy.Integer(0))
    if (a := fact("acceptance", {"success_probability", "verifier"})) is not None:
        p_field = f"{field}.acceptance.success_probability"
        p = parse(a.get("success_probability"), p_field, errors)
        if p is None and a.get("success_probability") is None:
            errors.add(p_field, "is required")
        elif p is not None and (p.free_symbols or not 0 < p <= 1):
            errors.add(p_field, "must be a number in (0, 1]")
        elif p is not None:
            acceptance = Acceptance(p, str(a.get("verifier") or ""))
    if (c := fact("chunkable", {"aggregate_tokens", "aggregator"})) is not None:
        agg = parse(
            c.get("aggregate_tokens"),
            f"{field}.chunkable.aggregate_tokens",
            errors,
            default=one,
            extra={"chunk": CHUNK},
        )
        chunkable = Chunkable(agg or one, str(c.get("aggregator") or ""))
    if (s := fact("steps", {"count", "tokens", "output"})) is not None:
        count = parse(s.get("count"), f"{field}.steps.count", errors)
        tokens = parse(s.get("tokens"), f"{field}.steps.tokens", errors, default=one)
        output = parse(s.get("output"), f"{field}.steps.output", errors, default=one)
        if count is None:
            if s.get("count") is None:
                errors.add(f"{field}.steps.count", "is required")
        else:
            steps = Steps(count, tokens or one, output or one)
    baseline = _enum(Operator, data.get("baseline"), f"{field}.baseline", errors, None)
    discrete = data.get("discrete", False)
    if not isinstance(discrete, bool):
        errors.add(f"{field}.discrete", "must be true or false")
        discrete = False
    if input_tokens is None:
        if data.get("input_tokens") is None and blocks is not None:
            input_tokens = blocks.count * blocks.size
        elif data.get("input_tokens") is None:
            errors.add(f"{field}.input_tokens", "is required")
            return None
        else:
            return None
    return Task(
        id=task_id,
        capability=str(capability or ""),
        input_tokens=input_tokens,
        output_tokens=parse(
            data.get("output_tokens"), f"{field}.output_tokens", errors, default=one
        )
        or one,
        prompt_tokens=parse(
            data.get("prompt_tokens"),
            f"{field}.prompt_tokens",
            errors,
            default=sympy.Integer(0),
            allow_zero=True,
        )
        or sympy.Integer(0),
        role_capabilities={str(k): str(v) for k, v in roles.items()},
        blocks=blocks,
        routing=routing,
        defects=defects,
        acceptance=acceptance,
        chunkable=chunkable,
        steps=steps,
        baseline=baseline,
        discrete=discrete,
    )


def _model(
    data: Mapping[str, Any], field: str, ex: _Expressions, errors: Violations
) -> Model | None:
    keys = {
        "name",
        "size",
        "price_per_input_token",
        "price_per_output_token",
        "context_window",
        "capabilities",
        "per_variant",
        "latency_per_token",
        "per_token_error",
    }
    _unknown_keys(data, keys, field, errors)
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        errors.add(f"{field}.name", f"must be an identifier (letters, digits, _), got {name!r}")
        return None
    raw_size = data.get("size")
    if raw_size is None or raw_size == "":
        errors.add(f"{field}.size", "is required")
        return None
    size_expr = ex.parse(raw_size, f"{field}.size", errors)
    if size_expr is None:
        return None
    size_value = float(sympy.N(size_expr.xreplace(ex.values), 20))
    size = sympy.Symbol(f"m_{name}", positive=True) if size_expr.is_number else size_expr
    caps_raw = _mapping(data.get("capabilities"), f"{field}.capabilities", errors)
    capabilities = {}
    for cap, p in caps_raw.items():
        value = _probability(p, f"{field}.capabilities[{cap}]", errors)
        if value is not None:
            capabilities[str(cap)] = value
    if not caps_raw:
        errors.add(f"{field}.capabilities", "a model needs at least one capability")

    def price(key: str) -> sympy.Rational:
        number = _number(data.get(key), f"{field}.{key}", errors, low=0.0, default=0.0)
        return sympy.Rational(repr(number or 0.0))

    per_variant = data.get("per_variant", False)
    if not isinstance(per_variant, bool):
        errors.add(f"{field}.per_variant", "must be true or false")
        per_variant = False
    error = _number(
        data.get("per_token_error"), f"{field}.per_token_error", errors, low=0.0, high=0.5
    )
    return Model(
        name=name,
        size=size,
        size_value=size_value,
        capabilities=capabilities,
        price_per_input_token=price("price_per_input_token"),
        price_per_output_token=price("price_per_output_token"),
        context_window=_number(
            data.get("context_window"), f"{field}.context_window", errors, low=0.0, default=0.0
        )
        or 0.0,
        per_variant=per_variant,
        latency_per_token=_number(
            data.get("latency_per_token"),
            f"{field}.latency_per_token",
            errors,
            low=0.0,
            default=1.0,
        )
        or 1.0,
        per_token_error=sympy.Rational(repr(error or 0.0)),
    )


def _graph_structure(
    tasks: list[Task], raw_edges: list[Any], ex: _Expressions, errors: Violations
) -> tuple[Edge, ...]:
    ids = {t.id for t in tasks}
    edges = []
    by_id = {t.id: t for t in tasks}
    for i, item in enumerate(raw_edges):
        field = f"graph.edges[{i}]"
        data = _mapping(item, field, errors)
        _unknown_keys(data, {"source", "target", "tokens"}, field, errors)
        ok = True
        for end in ("source", "target"):
            if data.get(end) not in ids:
                errors.add(f"{field}.{end}", f"no task with id {data.get(end)!r}")
                ok = False
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
    root = _mapping(data, "", errors)
    errors.raise_if_any()
    _unknown_keys(root, {"graph", "catalog", "cost_model", "constraints", "search"}, "", errors)
    graph_raw = _mapping(root.get("graph"), "graph", errors)
    _unknown_keys(
        graph_raw, {"name", "parameters", "assumptions", "tasks", "edges"}, "graph", errors
    )
    params, symbols = _parameters(
        _list(graph_raw.get("parameters"), "graph.parameters", errors, MAX_PARAMETERS), errors
    )
    ex = _Expressions(symbols, {p.symbol: p.value for p in params})
    assumptions = []
    for i, text in enumerate(_list(graph_raw.get("assumptions"), "graph.assumptions", errors, 50)):
        try:
            assumptions.append(
                parse_assumption(str(text), symbols=symbols, field=f"graph.assumptions[{i}]")
            )
        except ExpressionError as error:
            errors.extend(error)
    catalog_raw = _mapping(root.get("catalog"), "catalog", errors)
    _unknown_keys(catalog_raw, {"models"}, "catalog", errors)
    models: list[Model] = []
    for i, item in enumerate(
        _list(catalog_raw.get("models"), "catalog.models", errors, max_models)
    ):
        model = _model(
            _mapping(item, f"catalog.models[{i}]", errors), f"catalog.models[{i}]", ex, errors
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
    raw_tasks = _list(graph_raw.get("tasks"), "graph.tasks", errors, max_tasks)
    if not raw_tasks and "graph.tasks" not in {v.field for v in errors.items}:
        errors.add("graph.tasks", "the graph needs at least one task")
    for i, item in enumerate(raw_tasks):
        field = f"graph.tasks[{i}]"
        task = _task(_mapping(item, field, errors), field, ex, errors)
        if task is None:
            continue
        if any(t.id == task.id for t in tasks):
            errors.add(f"{field}.id", f"duplicate task id {task.id!r}")
        else:
            tasks.append(task)
    edges = _graph_structure(
        tasks, _list(graph_raw.get("edges"), "graph.edges", errors, 10 * max_tasks), ex, errors
    )
    cost_model = _enum(
        CostModel, root.get("cost_model"), "cost_model", errors, CostModel.FORWARD_PASS
    )
    constraints = _constraints(_mapping(root.get("constraints"), "constraints", errors), errors)
    search = _search(_mapping(root.get("search"), "search", errors), errors)
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
    )


def _constraints(data: Mapping[str, Any], errors: Violations) -> Constraints:
    _unknown_keys(
        data,
        {"min_success_probability", "max_cost", "max_latency", "parallelism"},
        "constraints",
        errors,
    )
    f = "constraints."
    parallelism = _number(data.get("parallelism"), f + "parallelism", errors, low=0.0)
    if parallelism is not None and parallelism != int(parallelism):
        errors.add(f + "parallelism", "must be an integer")
    return Constraints(
        min_success_probability=_number(
            data.get("min_success_probability"),
            f + "min_success_probability",
            errors,
            low=0.0,
            high=1.0,
        )
        or None,
        max_cost=_number(data.get("max_cost"), f + "max_cost", errors, low=0.0, low_open=True),
        max_latency=_number(
            data.get("max_latency"), f + "max_latency", errors, low=0.0, low_open=True
        ),
        parallelism=int(parallelism) if parallelism else None,
    )


def _search(data: Mapping[str, Any], errors: Violations) -> SearchOptions:
    _unknown_keys(
        data,
        {"n_trials", "timeout_seconds", "seed", "objectives", "objective", "rank_by"},
        "search",
        errors,
    )
    n_trials = _number(data.get("n_trials"), "search.n_trials", errors, low=0, high=MAX_TRIALS)
    timeout = _number(data.get("timeout_seconds"), "search.timeout_seconds", errors, low=0.0)
    seed = _number(data.get("seed"), "search.seed", errors, low=0, high=2**32 - 1)
    objectives = []
    for i, item in enumerate(_list(data.get("objectives"), "search.objectives", errors, 3)):
        objective = _enum(Objective, item, f"search.objectives[{i}]", errors, None)
        if objective is not None and objective not in objectives:
            objectives.append(objective)
    goal = _enum(SearchObjective, data.get("objective"), "search.objective", errors, None)
    rank_by = _enum(RankBy, data.get("rank_by"), "search.rank_by", errors, None)
    return SearchOptions(
        n_trials=int(n_trials) if n_trials else SearchOptions.n_trials,
        timeout_seconds=timeout or None,
        seed=int(seed or 0),
        objectives=tuple(objectives),
        objective=goal or SearchObjective.COST_OF_PASS,
        rank_by=rank_by or RankBy.SCALE_POINT,
    )


def load_plan(data: Any, field: str = "plan") -> Plan:
    """A caller-supplied plan (``tasks[]: {task_id, operator, roles[], params}``)."""
    errors = Violations()
    root = _mapping(data, field, errors)
    tasks = []
    for i, item in enumerate(_list(root.get("tasks"), f"{field}.tasks", errors, MAX_TASKS)):
        where = f"{field}.tasks[{i}]"
        raw = _mapping(item, where, errors)
        operator = _enum(Operator, raw.get("operator"), f"{where}.operator", errors, None)
        if operator is None:
            errors.add(f"{where}.operator", "is required")
            continue
        roles = []
        for j, role in enumerate(_list(raw.get("roles"), f"{where}.roles", errors, 10)):
            r = _mapping(role, f"{where}.roles[{j}]", errors)
            votes = _number(r.get("votes"), f"{where}.roles[{j}].votes", errors, low=0, default=1)
            roles.append(
                RoleAssignment(str(r.get("role", "")), str(r.get("model", "")), int(votes or 1))
            )
        params = []
        for name, value in _mapping(raw.get("params"), f"{where}.params", errors).items():
            number = _number(value, f"{where}.params.{name}", errors, low=1)
            if number is not None:
                params.append((str(name), int(number)))
        tasks.append(
            TaskPlan(str(raw.get("task_id", "")), operator, tuple(roles), tuple(sorted(params)))
        )
    errors.raise_if_any()
    return Plan(tuple(tasks))
