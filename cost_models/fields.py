"""Reading one field of plain data, with its path, into the domain's numbers and names.

The loaders (:mod:`aalps.cost_models.loading`, :mod:`aalps.cost_models.task_facts`) read a
request field by field; each reader here checks one value, records a
:class:`~aalps.cost_models.errors.FieldViolation` under the field's path when it is wrong,
and returns a default, so that every problem of a request is reported in one round.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import sympy
from aalps.cost_models._expression_guards import Rejected, approx
from aalps.cost_models.domain import CHUNK
from aalps.cost_models.errors import ExpressionError, Violations, did_you_mean
from aalps.cost_models.expressions import parse_expression
from aalps.cost_models.magnitudes import FAR_POINT, Point, check_structure, values_at_points
from aalps.cost_models.operators.chunking import MAX_CHUNK

__all__ = [
    "IDENTIFIER",
    "RESERVED",
    "ExpressionReader",
    "check_keys",
    "read_enum",
    "read_list",
    "read_mapping",
    "read_number",
    "read_probability",
    "unknown_field",
    "unknown_value",
]

#: A parameter or model name: an identifier of at most 64 characters.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: Names the expression grammar keeps for itself.
RESERVED = frozenset({"chunk", "log", "exp", "min", "max", "ceil", "floor"})

E = TypeVar("E", bound=Any)


def read_enum(
    cls: type[E], value: Any, field: str, errors: Violations, default: E | None
) -> E | None:
    """A member of enum ``cls`` by name; ``default`` when unset (or ``*_UNSPECIFIED``)."""
    if value in (None, "", 0) or (isinstance(value, str) and value.endswith("_UNSPECIFIED")):
        return default
    if isinstance(value, str) and value in cls.__members__:
        return cls[value]
    errors.add(field, unknown_value(value, list(cls.__members__)))
    return default


def unknown_value(value: Any, allowed: Collection[str]) -> str:
    """The message for an enum value not among ``allowed``: a suggestion, then the list."""
    hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
    return f"unknown value {value!r}; {hint + ' ' if hint else ''}expected one of " + ", ".join(
        allowed
    )


def unknown_field(key: str, known: Collection[str]) -> str:
    """The message for a misspelt field: a suggestion, then every field the object has."""
    names = list(known) if isinstance(known, list | tuple) else sorted(known)
    hint = did_you_mean(key, names)
    return f"unknown field; {hint + ' ' if hint else ''}the fields here are " + ", ".join(names)


def read_mapping(value: Any, field: str, errors: Violations) -> Mapping[str, Any]:
    """An object (a mapping); empty when unset or not an object."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add(field, "must be an object")
        return {}
    return value


def read_list(value: Any, field: str, errors: Violations, limit: int) -> list[Any]:
    """A list of at most ``limit`` entries; empty when unset, not a list or too long."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(field, "must be a list")
        return []
    if len(value) > limit:
        errors.add(field, f"has {len(value)} entries; at most {limit} are accepted")
        return []
    return value


def check_keys(
    data: Mapping[str, Any], known: Collection[str], field: str, errors: Violations
) -> None:
    """Report every key of ``data`` that is not in ``known`` (a misspelt field is an error)."""
    for key in data:
        if key not in known:
            errors.add(f"{field}.{key}" if field else str(key), unknown_field(str(key), known))


def read_number(
    value: Any,
    field: str,
    errors: Violations,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    default: float | None = None,
) -> float | None:
    """A finite number within ``[low, high]`` (``(low, high]`` with ``low_open``).

    Booleans are not numbers; ``default`` when unset or wrong.
    """
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


def read_probability(value: Any, field: str, errors: Violations) -> sympy.Rational | None:
    """A probability in (0, 1], kept exact as the rational of its decimal text."""
    number = read_number(value, field, errors, low=0.0, high=1.0, low_open=True)
    return None if number is None else sympy.Rational(repr(number))


class ExpressionReader:
    """Parses expression fields over the declared symbols and bounds their values.

    Every expression is checked where the request gives it a value: at the scale point and
    at the far point of the scale ray (:mod:`aalps.cost_models.magnitudes`: no double
    exponential, every step of its evaluation within 10**300), with ``chunk`` (in
    ``aggregate_tokens``) at 1 and at its largest searched size.

    Parameters
    ----------
    symbols
        The declared parameters by name.
    values
        Their values at the scale point (a positive field must be positive there).
    far
        Their values at the far point (defaults to ``values``: no growth is checked).
    definitions
        Defined parameters in terms of free ones (``n -> k*l``), so that the structure of
        an expression is checked with its definitions in place.
    """

    def __init__(
        self,
        symbols: Mapping[str, sympy.Symbol],
        values: Mapping[sympy.Symbol, float],
        far: Mapping[sympy.Symbol, Any] | None = None,
        definitions: Mapping[sympy.Symbol, sympy.Expr] | None = None,
    ):
        self.symbols = symbols
        self.values = {s: sympy.Float(v, 30) for s, v in values.items()}
        self._scale = dict(values)
        self._far = dict(far) if far is not None else None
        self._definitions = dict(definitions or {})

    def _points(self, expr: sympy.Expr) -> list[Point]:
        points: list[Point] = [("at the scale point", {**self._scale, CHUNK: 1})]
        if self._far is not None:
            points.append((FAR_POINT, {**self._far, CHUNK: 1}))
        if CHUNK in expr.free_symbols:
            points += [
                (f"{where} with chunk = {MAX_CHUNK}", {**values, CHUNK: MAX_CHUNK})
                for where, values in points
            ]
        return points

    def value(self, expr: sympy.Expr, field: str, errors: Violations) -> float | None:
        """``expr``'s value at the scale point, bounded (None, reported, when it is not).

        Also checks the far point (see the class); an expression over a parameter without a
        value (one that failed validation, reported already) is None without a report.
        """
        numbers = self._values(expr, field, errors)
        return None if numbers is None else numbers[0][1]

    def _values(
        self, expr: sympy.Expr, field: str, errors: Violations
    ) -> list[tuple[str, float]] | None:
        """(where, value) at every point :meth:`value` checks, the scale point first."""
        if expr.free_symbols - set(self._scale) - {CHUNK}:
            return None
        points = self._points(expr)
        try:
            check_structure(expr.xreplace(self._definitions))
            numbers = values_at_points(expr, points)
        except Rejected as error:
            errors.add(field, str(error))
            return None
        return [(where, float(n)) for (where, _), n in zip(points, numbers, strict=True)]

    def far_value(self, expr: sympy.Expr, field: str, errors: Violations) -> Any:
        """``expr``'s value at the far point (after :meth:`value` accepted it)."""
        try:
            return approx(expr, self._far if self._far is not None else self._scale)
        except Rejected as error:
            errors.add(field, f"{error} {FAR_POINT}")
            return None

    def parse(
        self,
        value: Any,
        field: str,
        errors: Violations,
        *,
        default: sympy.Expr | None = None,
        positive: bool = True,
        allow_zero: bool = False,
        tokens: bool = False,
        extra: Mapping[str, sympy.Symbol] | None = None,
    ) -> sympy.Expr | None:
        """Expression ``value`` of ``field``; ``default`` when unset or wrong.

        The value is bounded at the scale point and the far point (:meth:`value`);
        ``positive`` checks it at the scale point (``allow_zero`` admits 0); ``tokens`` asks
        for at least one token at every point checked (the tokens a call writes: a forward
        pass over a fraction of a token has no meaning, and the generation formula
        ``n_in*n_out + n_out*(n_out - 1)/2`` turns negative below one); ``extra`` adds
        symbols for this field alone (``chunk`` in ``aggregate_tokens``).
        """
        if value is None or value == "":
            return default
        symbols = {**self.symbols, **(extra or {})}
        try:
            expr = parse_expression(value, symbols=symbols, field=field)
        except ExpressionError as error:
            errors.extend(error)
            return default
        if expr.free_symbols - set(self._scale) - {CHUNK}:
            # (a parameter that failed validation was reported already: no cascade here)
            return expr
        before = len(errors.items)
        numbers = self._values(expr, field, errors)
        if numbers is None:
            return default if len(errors.items) > before else expr
        number = numbers[0][1]
        if positive and (number < 0 or (number == 0 and not allow_zero)):
            errors.add(field, f"must be {'>= 0' if allow_zero else 'positive'}, is {number:g} here")
            return default
        below = [(where, n) for where, n in numbers if n < 1]
        if tokens and below:
            where, n = below[0]
            errors.add(field, f"must be at least 1 token, is {n:g} {where}")
            return default
        return expr
