"""The whitelisting parser for every expression in a request (sizes, counts, model sizes).

User text is never handed to Python or to sympy's string parser (which runs Python): a
hand-written tokenizer and a recursive-descent parser build sympy objects directly from a
small grammar::

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := ("+" | "-")* power
    power   := atom (("**" | "^") unary)?             right-associative: 2**3**2 = 2**9
    atom    := number | symbol | function "(" sum ("," sum)* ")" | "(" sum ")"
    function:= log | exp | min | max | ceil | floor

Numbers are exact (``0.5`` is ``1/2``, never a float). Symbols must be declared by the
caller. Everything that could make sympy compute something huge is bounded *before* sympy
sees it: the text's length, the nesting depth, the digits of a literal, numeric exponents
(``9**9**9`` stops at ``9**387420489``), and the magnitude of every numeric value (at most
``10**300``, checked on a cheap mpmath approximation). Functions of non-rational constants
(``ceil(exp(5))``) and ``min``/``max`` of symbolic arguments are left unevaluated, because
sympy's attempts to decide them can take seconds. Every rejection is an
:class:`~aalps.cost_models.errors.ExpressionError` naming the request field. The numeric
guards (the mpmath range checks behind every operation) live in
:mod:`aalps.cost_models._expression_guards`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

import sympy
from aalps.cost_models._expression_guards import (
    BUILDERS,
    MAX_EXPONENT,
    MAX_MAGNITUDE,
    MAX_NUMBER_DIGITS,
    ROOT_LIMIT,
    Rejected,
    approx,
    audit,
    precheck,
)
from aalps.cost_models.errors import ExpressionError, did_you_mean
from sympy.core.relational import Relational

MAX_LENGTH = 500
"""Longest accepted expression text, in characters (checked before anything else)."""
MAX_DEPTH = 32
"""Deepest nesting of parentheses, function calls and power exponents."""
# MAX_EXPONENT (largest numeric exponent, also of a literal's ``e``), MAX_NUMBER_DIGITS (most
# digits in a literal and under a root) and MAX_MAGNITUDE (10**300, the bound on every
# constant) are defined beside the guards that enforce them (:mod:`._expression_guards`).

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_MAGNITUDE",
    "MAX_NUMBER_DIGITS",
    "expression_symbols",
    "parse_assumption",
    "parse_expression",
]

FUNCTIONS: Mapping[str, tuple[int, int | None]] = {
    "log": (1, 2),
    "exp": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "ceil": (1, 1),
    "floor": (1, 1),
}
"""The callable functions and their (minimum, maximum) number of arguments."""

_COMPARISONS: Mapping[str, Callable[..., Relational]] = {
    "<=": sympy.Le,
    "<": sympy.Lt,
    ">=": sympy.Ge,
    ">": sympy.Gt,
}

_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|<=|>=|[-+*/^(),<>])",
    re.ASCII,
)
_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]", re.ASCII)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    pos: int  # 0-based index into the text

    def describe(self) -> str:
        if self.kind == "end":
            return "end of expression"
        what = "number " if self.kind == "number" else ""
        return f"{what}'{self.text}' at position {self.pos + 1}"


def parse_expression(
    text: str | int | float, *, symbols: Mapping[str, sympy.Symbol], field: str
) -> sympy.Expr:
    """Parse ``text`` (or a YAML number) into an exact sympy expression over ``symbols``.

    Raises :class:`ExpressionError` (with ``.field == field``) for anything outside the
    grammar or beyond the limits; never runs code and never computes huge numbers.
    """
    tokens = _tokenize(_as_text(text, field), field, comparisons=False)
    return _Parser(tokens, symbols, field).parse()


def parse_assumption(text: str, *, symbols: Mapping[str, sympy.Symbol], field: str) -> Relational:
    """Parse an inequality ``lhs OP rhs`` (OP one of ``<= < >= >``) into an unevaluated relation.

    The relation is built with ``evaluate=False`` so that it stays a relation even when both
    sides are numbers (``1 < 2`` is ``Lt(1, 2)``, not ``true``).
    """
    if not isinstance(text, str):
        raise ExpressionError(field, f"expected an inequality such as 'b <= k', got {_kind(text)}")
    tokens = _tokenize(_as_text(text, field), field, comparisons=True)
    found = [i for i, token in enumerate(tokens) if token.text in _COMPARISONS]
    if not found:
        raise ExpressionError(
            field, "an assumption needs one comparison: <=, <, >= or > (e.g. 'b <= k')"
        )
    if len(found) > 1:
        extra = tokens[found[1]]
        raise ExpressionError(
            field,
            f"an assumption has exactly one comparison; found {len(found)} "
            f"(another '{extra.text}' at position {extra.pos + 1})",
        )
    split = found[0]
    operator = tokens[split]
    if split == 0:
        raise ExpressionError(field, f"nothing on the left of '{operator.text}'")
    if split == len(tokens) - 1:
        raise ExpressionError(field, f"nothing on the right of '{operator.text}'")
    lhs = _Parser(tokens[:split], symbols, field).parse()
    rhs = _Parser(tokens[split + 1 :], symbols, field).parse()
    return _COMPARISONS[operator.text](lhs, rhs, evaluate=False)


def expression_symbols(text: str | int | float, *, field: str) -> frozenset[str]:
    """The identifiers ``text`` uses (function names excluded), after checking its syntax.

    Used to order parameter definitions by dependency before their symbols are known, so an
    identifier is not required to be declared here; every other rule still applies.
    """
    tokens = _tokenize(_as_text(text, field), field, comparisons=False)
    names = frozenset(
        token.text
        for token, after in zip(tokens, [*tokens[1:], None], strict=True)
        if token.kind == "name"
        and token.text not in FUNCTIONS
        and (after is None or after.text != "(")
    )
    _Parser(tokens, {name: sympy.Symbol(name, positive=True) for name in names}, field).parse()
    return names


def _kind(value: object) -> str:
    return type(value).__name__


def _as_text(value: object, field: str) -> str:
    """Check the length first (cheap), then turn a YAML number into the same exact text path."""
    if isinstance(value, str):
        if len(value) > MAX_LENGTH:
            raise ExpressionError(
                field, f"expression is {len(value)} characters long; the limit is {MAX_LENGTH}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(field, f"expected an expression or a number, got {_kind(value)}")
    if isinstance(value, int):
        if abs(value) >= ROOT_LIMIT:
            raise ExpressionError(
                field,
                f"number has more than {MAX_NUMBER_DIGITS} digits; "
                "write large numbers in scientific notation, e.g. 1e40",
            )
        return str(value)
    if not math.isfinite(value):
        raise ExpressionError(field, f"number must be finite, got {value!r}")
    return repr(value)


def _tokenize(text: str, field: str, *, comparisons: bool) -> list[_Token]:
    """Split ``text`` into tokens; any character outside the grammar is reported by position."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or (match.group() in _COMPARISONS and not comparisons):
            raise ExpressionError(field, _unexpected_character(text, pos, comparisons))
        kind = match.lastgroup or ""
        if kind == "number" and _NUMBER_TAIL.match(text, match.end()):
            end = match.end() + 1
            raise ExpressionError(
                field,
                f"malformed number '{text[pos:end]}' at position {pos + 1} "
                "(write 2*k, not 2k; a number has at most one '.')",
            )
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    if not tokens:
        raise ExpressionError(field, "empty expression")
    return tokens


def _unexpected_character(text: str, pos: int, comparisons: bool) -> str:
    char = text[pos]
    shown = repr(char) if char.isascii() and char.isprintable() else f"{char!r} (U+{ord(char):04X})"
    message = f"unexpected character {shown} at position {pos + 1}"
    if char in "<>=!" and not comparisons:
        message += " (comparisons belong in assumptions, not in expressions)"
    elif char in "=!" and comparisons:
        message += " (use one of <=, <, >=, >)"
    return message


class _Parser:
    """Recursive descent over the tokens of one expression, building checked sympy objects."""

    def __init__(
        self, tokens: Sequence[_Token], symbols: Mapping[str, sympy.Symbol], field: str
    ) -> None:
        last = tokens[-1] if tokens else None
        end = last.pos + len(last.text) if last else 0
        self._tokens = [*tokens, _Token("end", "", end)]
        self._symbols = symbols
        self._field = field
        self._index = 0
        self._depth = 0

    def parse(self) -> sympy.Expr:
        expr = self._sum()
        token = self._peek()
        if token.kind != "end":
            self._fail(f"unexpected {token.describe()} (missing operator?)")
        return expr

    # -- grammar ---------------------------------------------------------------------------

    def _sum(self) -> sympy.Expr:
        # Sums and products are built n-ary, in one sympy call: a chain of binary additions
        # re-sorts the growing sum at every step, which is quadratic.
        terms = [self._product()]
        first: _Token | None = None
        while self._peek().text in ("+", "-"):
            operator = self._next()
            first = first or operator
            term = self._product()
            terms.append(self._combine("neg", [term], operator) if operator.text == "-" else term)
        return self._combine("+", terms, first) if first else terms[0]

    def _product(self) -> sympy.Expr:
        factors = [self._unary()]
        first: _Token | None = None
        while self._peek().text in ("*", "/"):
            operator = self._next()
            first = first or operator
            factor = self._unary()
            factors.append(
                self._combine("inv", [factor], operator) if operator.text == "/" else factor
            )
        return self._combine("*", factors, first) if first else factors[0]

    def _unary(self) -> sympy.Expr:
        negative: _Token | None = None
        while self._peek().text in ("+", "-"):
            sign = self._next()
            if sign.text == "-":
                negative = None if negative else sign
        operand = self._power()
        return self._combine("neg", [operand], negative) if negative else operand

    def _power(self) -> sympy.Expr:
        base = self._atom()
        if self._peek().text not in ("**", "^"):
            return base
        operator = self._next()
        self._enter(operator)
        exponent = self._unary()
        self._depth -= 1
        return self._combine("**", [base, exponent], operator)

    def _atom(self) -> sympy.Expr:
        token = self._next()
        if token.kind == "number":
            return self._number(token)
        if token.kind == "name":
            if self._peek().text == "(":
                return self._call(token)
            return self._symbol(token)
        if token.text == "(":
            self._enter(token)
            expr = self._sum()
            self._expect_close(token)
            self._depth -= 1
            return expr
        self._fail(f"unexpected {token.describe()}")

    def _call(self, name: _Token) -> sympy.Expr:
        if name.text not in FUNCTIONS:
            if name.text in self._symbols:
                self._fail(f"'{name.text}' is a symbol, not a function (write '*' to multiply)")
            allowed = ", ".join(sorted(FUNCTIONS))
            self._fail(f"unknown function '{name.text}' (allowed: {allowed})")
        opening = self._next()
        self._enter(opening)
        low, high = FUNCTIONS[name.text]
        args: list[sympy.Expr] = []
        if self._peek().text != ")":
            args.append(self._sum())
            while self._peek().text == ",":
                self._next()
                args.append(self._sum())
        self._expect_close(opening)
        self._depth -= 1
        if len(args) < low or (high is not None and len(args) > high):
            if high is None:
                wanted = f"at least {low} arguments"
            elif high == low:
                wanted = f"{low} argument" + ("s" if low > 1 else "")
            else:
                wanted = f"{low} or {high} arguments"
            self._fail(
                f"{name.text}() takes {wanted}, got {len(args)} (at position {name.pos + 1})"
            )
        return self._combine(name.text, args, name)

    def _symbol(self, token: _Token) -> sympy.Expr:
        name = token.text
        if name in FUNCTIONS:
            self._fail(f"'{name}' is a function; call it as {name}(...) (position {token.pos + 1})")
        if name in self._symbols:
            return self._symbols[name]
        if not self._symbols:
            hint = "no symbols are declared"
        elif len(self._symbols) <= 12:
            hint = "declared: " + ", ".join(sorted(self._symbols))
        else:
            hint = f"{len(self._symbols)} symbols are declared"
        suggestion = did_you_mean(name, sorted(self._symbols))
        self._fail(
            f"undefined symbol '{name}'" + (f"; {suggestion}" if suggestion else "") + f" ({hint})"
        )

    def _number(self, token: _Token) -> sympy.Expr:
        match = _NUMBER.fullmatch(token.text)
        assert match is not None  # the tokenizer only lets numbers of this shape through
        whole, fraction, exponent_text = match.group(1), match.group(2) or "", match.group(3)
        digits = whole + fraction
        if len(digits) > MAX_NUMBER_DIGITS:
            self._fail(
                f"number at position {token.pos + 1} has {len(digits)} digits; "
                f"the limit is {MAX_NUMBER_DIGITS}"
            )
        exponent = int(exponent_text or 0)
        if abs(exponent) > MAX_EXPONENT:
            self._fail(
                f"number '{token.text}' at position {token.pos + 1}: exponent {exponent} is "
                f"beyond the limit of {MAX_EXPONENT}"
            )
        scale = exponent - len(fraction)
        if scale >= 0:
            return sympy.Integer(int(digits) * 10**scale)
        return sympy.Rational(int(digits), 10**-scale)

    # -- token helpers ---------------------------------------------------------------------

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _expect_close(self, opening: _Token) -> None:
        token = self._next()
        if token.text != ")":
            self._fail(
                f"expected ')' to close '(' at position {opening.pos + 1}, found {token.describe()}"
            )

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self._fail(
                f"nested more than {MAX_DEPTH} levels deep at position {token.pos + 1} "
                "(parentheses, function calls and exponents count)"
            )

    def _fail(self, description: str) -> NoReturn:
        raise ExpressionError(self._field, description)

    # -- building sympy objects safely -----------------------------------------------------

    def _combine(self, kind: str, args: list[sympy.Expr], where: _Token) -> sympy.Expr:
        """Apply one operation, refusing anything that would make sympy compute huge values."""
        try:
            precheck(kind, args)
            try:
                result = BUILDERS[kind](*args)
            except Exception as error:  # sympy's own refusals must not escape as other errors
                raise Rejected(f"cannot be evaluated ({type(error).__name__})") from error
            audit(result, in_exponent=False)
            if not result.free_symbols:
                approx(result)
        except Rejected as error:
            self._fail(f"{error} (at '{where.text}', position {where.pos + 1})")
        return result
