"""The graph's parameters from plain data: declared, defined, at the scale and far points.

A parameter is a size symbol with a value at the scale point (``value``) or a definition in
other parameters (``expr``, resolved in dependency order). Besides the parameters, reading
them yields every parameter's value at the far point of the scale ray, so that the
expression reader can bound every expression of the request where the optimizer will
evaluate it (:mod:`aalps.cost_models.magnitudes`).
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from typing import Any

import networkx as nx
import sympy
from aalps.cost_models.domain import Parameter
from aalps.cost_models.errors import ExpressionError, Violations
from aalps.cost_models.expressions import expression_symbols
from aalps.cost_models.fields import (
    IDENTIFIER,
    RESERVED,
    ExpressionReader,
    check_keys,
    read_mapping,
    read_number,
)
from aalps.cost_models.magnitudes import FAR_GROWTH, MAX_VALUE

__all__ = ["read_parameters"]


def read_parameters(
    raw: list[Any], errors: Violations
) -> tuple[tuple[Parameter, ...], dict[str, sympy.Symbol], dict[sympy.Symbol, Any]]:
    """Declared parameters, defined ones (``expr``) resolved in dependency order.

    Parameters
    ----------
    raw
        The request's ``graph.parameters`` entries.
    errors
        Collects the violations, each under ``graph.parameters[i]``.

    Returns
    -------
    tuple
        The parameters (in declaration order), every declared symbol by name, and every
        parameter's value at the far point of the scale ray (growing free ones times
        :data:`~aalps.cost_models.magnitudes.FAR_GROWTH`, defined ones following), which
        the expression reader bounds expressions at.
    """
    symbols: dict[str, sympy.Symbol] = {}
    entries: list[tuple[int, Mapping[str, Any]]] = []
    for i, item in enumerate(raw):
        field = f"graph.parameters[{i}]"
        data = read_mapping(item, field, errors)
        check_keys(data, {"name", "description", "value", "grows", "expr"}, field, errors)
        name = data.get("name")
        if not isinstance(name, str) or not IDENTIFIER.match(name) or keyword.iskeyword(name):
            errors.add(f"{field}.name", f"must be an identifier, got {name!r}")
            continue
        if name in RESERVED:
            errors.add(f"{field}.name", f"{name!r} is reserved")
            continue
        if name in symbols:
            errors.add(f"{field}.name", f"duplicate parameter {name!r}")
            continue
        symbols[name] = sympy.Symbol(name, positive=True)
        entries.append((i, data))
    deps = nx.DiGraph()
    unreadable: set[str] = set()  # definitions reported already: not parsed a second time
    for i, data in entries:
        deps.add_node(data["name"])
        if data.get("expr") not in (None, ""):
            try:
                used = expression_symbols(data["expr"], field=f"graph.parameters[{i}].expr")
            except ExpressionError as error:
                errors.extend(error)
                unreadable.add(data["name"])
                continue
            deps.add_edges_from((u, data["name"]) for u in used if u in symbols)
    try:
        order = list(nx.topological_sort(deps))
    except nx.NetworkXUnfeasible:
        cycle = " -> ".join(u for u, _ in nx.find_cycle(deps))
        errors.add("graph.parameters", f"parameter definitions form a cycle: {cycle}")
        return (), symbols, {}
    by_name = {data["name"]: (i, data) for i, data in entries}
    definitions: dict[sympy.Symbol, sympy.Expr] = {}
    values: dict[sympy.Symbol, float] = {}
    far: dict[sympy.Symbol, Any] = {}
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
        value = read_number(data.get("value"), f"{field}.value", errors, low=0.0, low_open=True)
        if name in unreadable:
            continue
        if data.get("expr") not in (None, ""):
            ex = ExpressionReader(symbols, values, far, definitions)
            expr = ex.parse(data["expr"], f"{field}.expr", errors)
            if expr is None or expr.free_symbols - set(values):
                continue  # reported, or an undefined dependency reported already
            derived = ex.value(expr, f"{field}.expr", errors)
            far_value = ex.far_value(expr, f"{field}.expr", errors)
            if derived is None or far_value is None:
                continue
            if value is not None and not math.isclose(value, derived, rel_tol=1e-9):
                errors.add(f"{field}.value", f"is {value:g} but expr gives {derived:g}")
            value = derived
            definitions[symbol] = expr.xreplace(definitions)
        elif value is None:
            errors.add(f"{field}.value", "needs a positive scale-point value (or an expr)")
            continue
        else:
            far_value = value * FAR_GROWTH if grows else value
            if not far_value <= MAX_VALUE:
                where = " at the far point of the scale ray (grows: false keeps it)"
                errors.add(f"{field}.value", f"{value:g} is beyond 10**300{where if grows else ''}")
                continue
        values[symbol] = value
        far[symbol] = far_value
        description = str(data.get("description") or "")
        params[name] = Parameter(name, symbol, value, grows, expr, description)
    ordered = tuple(params[data["name"]] for _, data in entries if data["name"] in params)
    return ordered, symbols, far
