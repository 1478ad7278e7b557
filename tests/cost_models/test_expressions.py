"""Tests of the whitelisting expression parser: exact results, every rejection, and fuzzing."""

from __future__ import annotations

import builtins
import contextlib
import gc
import re
import sys
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy
from aalps.cost_models import expressions
from aalps.cost_models.errors import ExpressionError, InvalidRequestError
from aalps.cost_models.expressions import (
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NUMBER_DIGITS,
    expression_symbols,
    parse_assumption,
    parse_expression,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.core.relational import Relational

FIELD = "graph.tasks[2].blocks.count"
b, k, l, n = sympy.symbols("b k l n", positive=True)  # noqa: E741 - the paper's names
SYMBOLS = {"b": b, "k": k, "l": l, "n": n}
R = sympy.Rational


def parse(text: str | int | float) -> sympy.Expr:
    return parse_expression(text, symbols=SYMBOLS, field=FIELD)


def rejection(call: Callable[[], object]) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        call()
    error = caught.value
    assert error.field == FIELD
    assert str(error) == f"{FIELD}: {error.description}"
    return error


def rejects(text: object, *fragments: str) -> ExpressionError:
    error = rejection(lambda: parse_expression(text, symbols=SYMBOLS, field=FIELD))  # type: ignore[arg-type]
    for fragment in fragments:
        assert fragment in error.description, error.description
    return error


@pytest.fixture(autouse=True, scope="module")
def _warm_sympy() -> None:
    """sympy fills caches on first use; the per-call time bound is about steady state."""
    for text in ["k*l + 1/2", "log(k, 2) + exp(l)", "min(k, l) + ceil(k/2)", "(k+1)**0.5", "2**3"]:
        parse(text)


# -- exact results ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k*l", k * l),
        ("0.5", R(1, 2)),
        ("1.5", R(3, 2)),
        (".25", R(1, 4)),
        ("7.", sympy.Integer(7)),
        ("1e6", sympy.Integer(10**6)),
        ("2.5e-3", R(1, 400)),
        ("1E+2", sympy.Integer(100)),
        ("2**k*k**2", 2**k * k**2),
        ("n**2*(b*(b+1)/2 + b/2) - b*n/2", n**2 * (b * (b + 1) / 2 + b / 2) - b * n / 2),
        ("2**3**2", sympy.Integer(512)),
        ("(2**3)**2", sympy.Integer(64)),
        ("-2**2", sympy.Integer(-4)),
        ("(-2)**2", sympy.Integer(4)),
        ("2^3^2", sympy.Integer(512)),
        ("k^2", k**2),
        ("2**-1", R(1, 2)),
        ("-k**2", -(k**2)),
        ("k-l-n", k - l - n),
        ("k-(l-n)", k - l + n),
        ("k/l/n", k / (l * n)),
        ("k/(l/n)", k * n / l),
        ("2/4", R(1, 2)),
        ("k*-l", -k * l),
        ("--k", k),
        ("+k", k),
        ("- -+-k", -k),
        ("k + l*n", k + l * n),
        ("(k + l)*n", (k + l) * n),
        ("k**0.5", sympy.sqrt(k)),
        ("  k\t*\nl ", k * l),
        ("log(k)", sympy.log(k)),
        ("log(8, 2)", sympy.Integer(3)),
        ("log(k, 2)", sympy.log(k) / sympy.log(2)),
        ("log(exp(k))", k),
        ("exp(k)", sympy.exp(k)),
        ("exp(0)", sympy.Integer(1)),
        ("exp(1)", sympy.E),
        ("min(k, l)", sympy.Min(k, l)),
        ("max(k, l, n)", sympy.Max(k, l, n)),
        ("max(k, 2, 3)", sympy.Max(k, 3)),
        ("min(3, 1/2, 2)", R(1, 2)),
        ("max(k, k)", k),
        ("ceil(5/2)", sympy.Integer(3)),
        ("floor(5/2)", sympy.Integer(2)),
        ("floor(-5/2)", sympy.Integer(-3)),
        ("ceil(k/2)", sympy.ceiling(k / 2)),
        ("floor(log(k))", sympy.floor(sympy.log(k))),
        ("k**k**k", k ** (k**k)),
        ("1e-256", R(1, 10**256)),
        ("999999999999999999999999999999", sympy.Integer(10**30 - 1)),
    ],
)
def test_exact_structure(text: str, expected: sympy.Expr) -> None:
    result = parse(text)
    assert result == expected
    assert not result.atoms(sympy.Float)


def test_decimals_are_exact_rationals_not_floats() -> None:
    half = parse("0.5")
    assert isinstance(half, sympy.Rational) and not isinstance(half, sympy.Float)
    assert parse("0.1") * 3 == R(3, 10)  # a binary float would not be exactly 3/10


def test_functions_of_non_rational_constants_stay_unevaluated() -> None:
    # sympy keeps exp(690) symbolic (no 300-digit number is computed), and ceil/min of such
    # constants is not decided numerically (which can take sympy seconds)
    assert parse("exp(690)") == sympy.exp(690)
    assert parse("exp(exp(5))") == sympy.exp(sympy.exp(5))
    assert parse("ceil(exp(5))") == sympy.ceiling(sympy.exp(5), evaluate=False)
    assert isinstance(parse("min(exp(2), 8)"), sympy.Min)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, sympy.Integer(3)),
        (-7, sympy.Integer(-7)),
        (0.5, R(1, 2)),
        (0.1, R(1, 10)),
        (1e6, sympy.Integer(10**6)),
        (1e16, sympy.Integer(10**16)),
        (-2.5e-3, R(-1, 400)),
        (10**30 - 1, sympy.Integer(10**30 - 1)),
    ],
)
def test_numbers_from_yaml(value: int | float, expected: sympy.Expr) -> None:
    assert parse(value) == expected


# -- rejections -------------------------------------------------------------------------------


def test_undefined_symbol_message_reads_well() -> None:
    error = rejects("k*x")
    assert str(error) == f"{FIELD}: undefined symbol 'x' (declared: b, k, l, n)"


def test_undefined_symbol_with_many_declared_suggests_close_names() -> None:
    many = {f"param_{i}": sympy.Symbol(f"param_{i}") for i in range(20)}
    error = rejection(lambda: parse_expression("parm_3", symbols=many, field=FIELD))
    assert "undefined symbol 'parm_3'" in error.description
    assert "'param_3'" in error.description
    none = rejection(lambda: parse_expression("k", symbols={}, field=FIELD))
    assert "no symbols are declared" in none.description


def test_errors_are_invalid_request_errors() -> None:
    error = rejects("1/0")
    assert isinstance(error, InvalidRequestError)
    assert [v.field for v in error.violations] == [FIELD]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["empty expression"]),
        ("   \t", ["empty expression"]),
        ("log", ["'log' is a function"]),
        ("exp + 1", ["'exp' is a function"]),
        ("foo(k)", ["unknown function 'foo'", "ceil, exp, floor, log, max, min"]),
        ("sqrt(k)", ["unknown function 'sqrt'"]),
        ("__import__(k)", ["unknown function '__import__'"]),
        ("k(2)", ["'k' is a symbol, not a function"]),
        ("é", ["'é'", "U+00E9", "position 1"]),
        ("k\u00a0+ l", ["U+00A0", "position 2"]),
        ("k;", ["';'", "position 2"]),
        ("k = 1", ["'='", "position 3"]),
        ("k < l", ["'<'", "assumptions"]),
        ("[k]", ["'['", "position 1"]),
        ('"k"', ["'\"'", "position 1"]),
        ("'k'", ['"\'"', "position 1"]),
        ("k.x", ["'.'", "position 2"]),
        ("k % 2", ["'%'", "position 3"]),
        ("1.2.3", ["malformed number '1.2.'"]),
        ("2k", ["malformed number '2k'", "2*k"]),
        ("1e", ["malformed number '1e'"]),
        ("k l", ["unexpected 'l' at position 3"]),
        ("k)", ["unexpected ')' at position 2"]),
        ("(k", ["expected ')' to close '(' at position 1", "end of expression"]),
        ("k +", ["unexpected end of expression"]),
        ("*k", ["unexpected '*' at position 1"]),
        ("k ** ** 2", ["unexpected '**' at position 6"]),
        ("min(k)", ["min() takes at least 2 arguments, got 1"]),
        ("min()", ["min() takes at least 2 arguments, got 0"]),
        ("exp(k, l)", ["exp() takes 1 argument, got 2"]),
        ("log(k, 2, 3)", ["log() takes 1 or 2 arguments, got 3"]),
        ("ceil(k,)", ["unexpected ')'"]),
        ("1" * (MAX_NUMBER_DIGITS + 1), [f"{MAX_NUMBER_DIGITS + 1} digits"]),
        ("0." + "0" * MAX_NUMBER_DIGITS + "1", ["digits"]),
        ("1e99999", ["exponent 99999", str(MAX_EXPONENT)]),
        ("1e-257", ["exponent -257"]),
        ("9**9**9**9", ["exponent 387420489", "beyond the limit of 256"]),
        ("k**300", ["exponent 300"]),
        ("k**-257", ["exponent -257"]),
        ("2**(k+1000)", ["exponent contains 1000"]),
        ("(k**16)**32", ["exponent contains 512"]),
        ("2**exp(100)", ["beyond the limit of 256"]),
        ("1e256*1e256", ["10**300"]),
        ("k*1e256*1e256", ["10**300"]),
        ("1e-256*1e-256", ["10**-300"]),
        ("exp(1000)", ["10**300"]),
        ("exp(exp(exp(exp(1000))))", ["10**300"]),
        ("2**256*1e256", ["10**300"]),
        ("1/0", ["division by zero", "position 2"]),
        ("k/(k-k)", ["division by zero"]),
        ("0**-1", ["division by zero"]),
        ("(k-k)**-2", ["division by zero"]),
        ("1/(exp(2) - exp(2))", ["division by zero"]),
        ("log(0)", ["log of a non-positive number"]),
        ("log(-1)", ["log of a non-positive number"]),
        ("log(1 - 3/2)", ["log of a non-positive number"]),
        ("log(k, 1)", ["log base"]),
        ("log(k, -2)", ["log base"]),
        ("(-8)**(1/3)", ["negative number raised to a fractional power"]),
        ("(k - 2*k)**0.5", ["not a real number"]),
        ("(1e40 + 1)**0.5", ["fractional power of a number with more than 30 digits"]),
    ],
)
def test_rejections(text: str, fragments: list[str]) -> None:
    rejects(text, *fragments)


def test_length_is_checked_first_and_fast() -> None:
    rejects("k" * (MAX_LENGTH + 1), f"{MAX_LENGTH + 1} characters", f"limit is {MAX_LENGTH}")
    parse("+".join(["k"] * (MAX_LENGTH // 2)))  # 499 characters: fine
    huge = "é" * 100_000  # would fail tokenizing, but the length check answers first
    start = time.perf_counter()
    error = rejects(huge, "100000 characters")
    assert time.perf_counter() - start < 0.01  # microseconds in practice
    assert "é" not in error.description


def test_nesting_depth() -> None:
    assert parse("(" * MAX_DEPTH + "k" + ")" * MAX_DEPTH) == k
    rejects("(" * (MAX_DEPTH + 1) + "k" + ")" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels")
    rejects("exp(" * (MAX_DEPTH + 1) + "0" + ")" * (MAX_DEPTH + 1), "levels")
    rejects("k**" * (MAX_DEPTH + 1) + "k", "levels")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "got bool"),
        (None, "got NoneType"),
        ([1], "got list"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (10**40, "more than 30 digits"),
        pytest.param(10**5000, "more than 30 digits", id="10**5000"),  # no str() possible
        (1e300, "exponent 300"),
    ],
)
def test_rejected_values(value: object, fragment: str) -> None:
    rejects(value, fragment)


# -- assumptions ------------------------------------------------------------------------------


def assume(text: str) -> Relational:
    return parse_assumption(text, symbols=SYMBOLS, field=FIELD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b <= k", sympy.Le(b, k)),
        ("k < l", sympy.Lt(k, l)),
        ("n >= k*l", sympy.Ge(n, k * l)),
        ("k > 1", sympy.Gt(k, 1)),
        ("2**b >= k**2/2", sympy.Ge(2**b, k**2 / 2)),
        ("1 < 2", sympy.Lt(1, 2, evaluate=False)),
        ("k <= k", sympy.Le(k, k, evaluate=False)),
    ],
)
def test_assumptions(text: str, expected: Relational) -> None:
    result = assume(text)
    assert isinstance(result, Relational)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("k", "needs one comparison"),
        ("k < l < n", "exactly one comparison; found 2"),
        ("k <= l >= n", "found 2"),
        ("k <=", "nothing on the right of '<='"),
        ("< k", "nothing on the left of '<'"),
        ("k == l", "'='"),
        ("k = l", "use one of <=, <, >=, >"),
        ("k != l", "'!'"),
        ("x <= k", "undefined symbol 'x'"),
        ("k <= 1/0", "division by zero"),
        ("(k <= l)", "expected ')'"),
        ("", "empty expression"),
        ("k <" * 200, "characters long"),
    ],
)
def test_assumption_rejections(text: str, fragment: str) -> None:
    error = rejection(lambda: assume(text))
    assert fragment in error.description, error.description


def test_assumption_must_be_text() -> None:
    error = rejection(lambda: parse_assumption(3, symbols=SYMBOLS, field=FIELD))  # type: ignore[arg-type]
    assert "got int" in error.description


# -- symbols used, for dependency ordering ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k*l + log(x)", {"k", "l", "x"}),
        ("n - n", {"n"}),
        ("min(m_s, k) ** 2", {"m_s", "k"}),
        ("3", set()),
        (2.5, set()),
    ],
)
def test_expression_symbols(text: str | float, expected: set[str]) -> None:
    assert expression_symbols(text, field=FIELD) == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("k +", "unexpected end"),
        ("exp", "is a function"),
        ("foo(k)", "unknown function"),
        ("k(1)", "function"),
        ("9**9**9**9", "exponent"),
        ("k;", "';'"),
    ],
)
def test_expression_symbols_validates_syntax(text: str, fragment: str) -> None:
    error = rejection(lambda: expression_symbols(text, field=FIELD))
    assert fragment in error.description


# -- safety: nothing is ever executed, nothing is slow ----------------------------------------


def test_module_never_interprets_strings_as_python() -> None:
    source = Path(expressions.__file__).read_text()
    for word in (r"\beval\(", r"\bexec\(", r"sympify\(", r"\bparse_expr\b", r"\bS\("):
        assert not re.search(word, source), word


@contextlib.contextmanager
def no_code_execution() -> Iterator[list[str]]:
    """Record (and refuse) eval/exec/compile and imports of modules that reach the system."""
    calls: list[str] = []
    real_import = builtins.__import__
    dangerous = {"os", "subprocess", "shutil", "socket", "pty", "ctypes"}

    def refuse(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def sentinel(*args: Any, **kwargs: Any) -> Any:
            if sys._getframe(1).f_globals.get("__name__", "").startswith("importlib"):
                return original(*args, **kwargs)  # loading a module sympy imports lazily
            calls.append(name)
            raise AssertionError(f"{name} called")

        return sentinel

    def guarded_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in dangerous:
            calls.append(f"import {name}")
        return real_import(name, *args, **kwargs)

    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}
    try:
        for name, original in saved.items():
            setattr(builtins, name, refuse(name, original))
        builtins.__import__ = guarded_import
        yield calls
    finally:
        for name, original in saved.items():
            setattr(builtins, name, original)
        builtins.__import__ = real_import


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The time bound is about the parser, not about a garbage collection that happens to run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_safe(text: object, kind: str = "expression") -> object:
    """The fuzzing property: a checked result or an ExpressionError on FIELD; fast; no code."""
    with no_code_execution() as calls, collector_paused():
        start = time.process_time()  # CPU, not wall: a busy machine must not fail it
        try:
            if kind == "expression":
                result: object = parse_expression(text, symbols=SYMBOLS, field=FIELD)  # type: ignore[arg-type]
            elif kind == "assumption":
                result = parse_assumption(text, symbols=SYMBOLS, field=FIELD)  # type: ignore[arg-type]
            else:
                result = expression_symbols(text, field=FIELD)  # type: ignore[arg-type]
        except ExpressionError as error:
            assert error.field == FIELD
            assert error.description
            result = None
        elapsed = time.process_time() - start
    assert calls == []
    # a guard against runaway work (sympy on a huge number takes seconds to minutes), not a
    # speed target: parsing takes milliseconds
    assert elapsed < 0.5, f"{elapsed:.3f} CPU s for {text!r}"
    if kind == "expression" and result is not None:
        assert isinstance(result, sympy.Expr)
        assert result.free_symbols <= set(SYMBOLS.values())
        assert not result.atoms(sympy.Float)
    if kind == "assumption" and result is not None:
        assert isinstance(result, Relational)
        assert result.free_symbols <= set(SYMBOLS.values())
    return result


HOSTILE = [
    "__import__('os').system('echo hi')",
    '__import__("os").system("echo hi")',
    "9**9**9**9",
    "9^9^9^9",
    "(" * 10_000 + ")" * 10_000,
    "(" * 10_000 + "k" + ")" * 10_000,
    "k" * 100_000,
    "1" * 100_000,
    "exp(exp(exp(exp(1000))))",
    "exp(exp(exp(exp(1))))",
    "ceil(exp(exp(5)))",
    "floor(exp(690))",
    "1e99999",
    "1e-99999",
    "k**k**k**k**k",
    "lambda: 0",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "eval('1')",
    "exec('x=1')",
    "open('/etc/passwd').read()",
    "k; import os",
    "k\x00",
    "${k}",
    "{{k}}",
    "2**2**2**2**2**2**2**2",
    "-" * 499 + "k",
    "(k+1)**256*(k+1)**256",
    "log(8)/log(2) - 3",
    "ceil(1/(log(8) - 3*log(2)))",
    "min(log(8), 3*log(2))",
    "1/(exp(1) - 2.718281828459045)",
    "ceil(1/(exp(1) - 2.718281828459045))",
    "exp(1/(exp(1) - 2.718281828459045))",
    "*".join(["100000000000000000000000000001**0.5"] * 13),
    "*".join(f"(k+{i})" for i in range(1, 90))[:MAX_LENGTH],
    "+".join(f"k**{i}" for i in range(1, 99))[: MAX_LENGTH - 1],
    "min(" + ",".join(f"k**{i}" for i in range(1, 90))[:480] + ")",
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda text: f"{text[:30]}...{len(text)}")
def test_hostile_strings(text: str) -> None:
    for kind in ("expression", "assumption", "symbols"):
        check_safe(text, kind)


def test_no_side_effect_from_hostile_input(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for text in (
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        f"exec(\"open('{marker}', 'w')\")",
    ):
        rejects(text)
        rejection(lambda text=text: assume(f"k <= {text}"))  # type: ignore[misc]
        rejection(lambda text=text: expression_symbols(text, field=FIELD))  # type: ignore[misc]
    assert not marker.exists()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "k", "l", "n", "b", "x", "_", "e", "E",
    "0", "1", "2", "9", "10", "256", "387420489", "0.5", ".5", "1e6", "2.5e-3", "1e256", "1e-256",
    "+", "-", "*", "/", "**", "^", "(", ")", ",", " ", ".",
    "<", "<=", ">", ">=", "=",
    "log", "exp", "min", "max", "ceil", "floor", "log(", "exp(", "min(", "max(", "ceil(", "floor(",
    "__import__", "'", "[", "]", ";", ":", "é", "\x00", "0x1F",
]  # fmt: skip


def _binary(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    ops = st.sampled_from(["+", "-", "*", "/", "**", "^"])
    bare = st.tuples(children, ops, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    grouped = st.tuples(children, ops, children).map(lambda t: f"({t[0]}){t[1]}({t[2]})")
    return bare | grouped


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.tuples(st.sampled_from(["-", "+", "-("]), children).map(
        lambda t: t[0] + t[1] + (")" if t[0].endswith("(") else "")
    )
    call1 = st.tuples(st.sampled_from(["log", "exp", "ceil", "floor"]), children).map(
        lambda t: f"{t[0]}({t[1]})"
    )
    calln = st.tuples(
        st.sampled_from(["min", "max", "log"]), st.lists(children, min_size=2, max_size=4)
    ).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    return _binary(children) | unary | call1 | calln


LEAVES = st.sampled_from(["k", "l", "n", "b"]) | st.sampled_from(
    ["0", "1", "2", "3", "0.5", "1.5", "1e6", "2.5e-3", "256", "1000", "387420489", "1e30"]
)
GRAMMAR = st.recursive(LEAVES, _extend, max_leaves=40)


@FUZZ
@given(st.text(max_size=MAX_LENGTH + 20))
def test_fuzz_random_text(text: str) -> None:
    check_safe(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=80), st.sampled_from(["", " "]))
def test_fuzz_token_soup(tokens: list[str], separator: str) -> None:
    text = separator.join(tokens)
    check_safe(text)
    check_safe(text, "assumption")
    check_safe(text, "symbols")


@FUZZ
@given(GRAMMAR)
def test_fuzz_grammatical_expressions(text: str) -> None:
    result = check_safe(text)
    if isinstance(result, sympy.Expr):  # whatever was accepted holds only bounded numbers
        assert all(abs(r.p) <= 10**300 and r.q <= 10**300 for r in result.atoms(sympy.Rational))


@FUZZ
@given(GRAMMAR, st.sampled_from(["<", "<=", ">", ">="]), GRAMMAR)
def test_fuzz_grammatical_assumptions(lhs: str, operator: str, rhs: str) -> None:
    check_safe(f"{lhs} {operator} {rhs}", "assumption")


@FUZZ
@given(st.sampled_from(HOSTILE), st.sampled_from(["", "k*", "(", "min(k, ", "-"]))
def test_fuzz_hostile_variants(text: str, prefix: str) -> None:
    check_safe(prefix + text)


@FUZZ
@given(
    st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
    | st.binary(max_size=8)
)
def test_fuzz_non_text_values(value: object) -> None:
    check_safe(value)


@FUZZ
@given(
    st.floats(min_value=-1e200, max_value=1e200, allow_nan=False).filter(
        lambda v: v == 0 or abs(v) > 1e-200
    )
)
def test_floats_are_their_exact_decimal_repr(value: float) -> None:
    fraction = Fraction(repr(value))
    assert parse(value) == R(fraction.numerator, fraction.denominator)


@FUZZ
@given(st.integers(min_value=-(10**30) + 1, max_value=10**30 - 1))
def test_integers_are_exact(value: int) -> None:
    assert parse(value) == sympy.Integer(value)
    assert parse(str(value)) == sympy.Integer(value)
