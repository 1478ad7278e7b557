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
from aalps.cost_models.domain import CHUNK
from aalps.cost_models.errors import ExpressionError, Violations
from aalps.cost_models.expressions import parse_expression

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
    allowed = ", ".join(cls.__members__)
    errors.add(field, f"unknown value {value!r}; expected one of {allowed}")
    return default


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
            errors.add(f"{field}.{key}" if field else str(key), "unknown field")


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
    """Parses expression fields over the declared symbols and checks their scale-point value.

    Parameters
    ----------
    symbols
        The declared parameters by name.
    values
        Their values at the scale point (a positive field must be positive there).
    """

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
        """Expression ``value`` of ``field``; ``default`` when unset or wrong.

        ``positive`` checks the value at the scale point (``allow_zero`` admits 0); ``extra``
        adds symbols for this field alone (``chunk`` in ``aggregate_tokens``).
        """
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
