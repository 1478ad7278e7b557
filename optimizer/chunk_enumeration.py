"""CHUNK_AGGREGATE's choices: which chunk counts each window allows, and the best ones.

Every figure of a chunked task depends on the chunk size only through the number of
chunks (:mod:`aalps.optimizer.chunking`), so the space is searched over counts. Per model the
context window allows an interval of counts: the worker's call (prompt + chunk + written
tokens) shrinks as the count grows, the aggregator's (prompt + every chunk's written
tokens + output) is convex in it. With cost the only figure, every (worker, aggregator)
pair gets the exact 1-D search of :func:`~aalps.optimizer.chunking.cheapest_count`; with success
or latency in play, every count is tried when there are at most
:data:`MULTI_METRIC_COUNT_LIMIT` (exact), else each pair's cost optimum plus
:data:`MULTI_METRIC_COUNT_SAMPLE` counts spread over the range (not exact: the space says
so). At each count tried the two roles are filtered separately (the operator is
role-separable).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy
from aalps.cost_models.domain import CHUNK, Model, Task
from aalps.optimizer.chunking import ChunkCounts, cheapest_count
from aalps.optimizer.space import Candidate, ChunkWindows, Option, widest, window_of

if TYPE_CHECKING:
    from aalps.optimizer.enumeration import OperatorEnumerator, SpaceBuilder

#: With success or latency in play, up to this many chunk counts are all tried (exact).
MULTI_METRIC_COUNT_LIMIT = 256
#: Beyond it: the cost optimum of every model pair plus this many counts spread evenly.
MULTI_METRIC_COUNT_SAMPLE = 48


def chunk_candidates(
    enum: OperatorEnumerator,
    models: Mapping[str, tuple[Model, ...]],
    votes: Mapping[str, tuple[int, ...]],
) -> tuple[list[Candidate], dict[str, tuple[str, ...]], ChunkWindows | None]:
    """CHUNK_AGGREGATE's feasible candidates on ``enum``'s task, its models, its windows.

    Records the reason in the task's space when no chunk size fits.
    """
    shape = ChunkShape.of(enum.owner, enum.task)
    if not shape.total > 0:
        enum.space.problems[enum.operator] = "there is no input to cut into chunks"
        return [], {}, None
    windows = _windows(enum, shape, models)
    if windows is None:
        return [], {}, None
    workers = tuple(m.name for m in models["worker"] if m.name in windows.worker_from)
    aggregators: tuple[str | None, ...] = (None,)
    if "aggregator" in models:
        aggregators = tuple(windows.aggregator_span)
    pairs = [(w, a) for w in workers for a in aggregators if windows.span(w, a) is not None]
    if not pairs:
        enum.space.problems[enum.operator] = (
            "no worker and aggregator fit a common chunk size in their context windows"
        )
        return [], {}, None
    if enum.metrics.latency or (enum.metrics.success and _success_varies(enum, models, votes)):
        candidates = _fronts(enum, windows, pairs, models, votes)
    else:
        candidates = [_cheapest(enum, windows, shape, w, a) for w, a in pairs]
    feasible: dict[str, set[str]] = {"worker": {w for w, _ in pairs}}
    if "aggregator" in models:
        feasible["aggregator"] = {a for _, a in pairs if a is not None}
    ok = [c for c in candidates if c.outcome.window_violation is None]
    return ok, enum.ordered(models, feasible), windows


def _success_varies(
    enum: OperatorEnumerator,
    models: Mapping[str, tuple[Model, ...]],
    votes: Mapping[str, tuple[int, ...]],
) -> bool:
    """Whether the chunk count can change the task's success probability.

    Not when every capable model is always right (reliability 1, no per-token error) and
    nothing is voted on: then cost alone ranks the counts, and the exact cost search holds.
    """
    capability = {r.name: r.capability for r in enum.roles}
    return any(len(v) > 1 for v in votes.values()) or any(
        float(m.capabilities[capability[role]]) < 1.0 or float(m.per_token_error) > 0.0
        for role, ms in models.items()
        for m in ms
    )


def _choice(worker: str, aggregator: str | None) -> dict[str, Option]:
    """One vote each for the worker and (when there is one) the aggregator."""
    choice = {"worker": (worker, 1)}
    if aggregator is not None:
        choice["aggregator"] = (aggregator, 1)
    return choice


def _cheapest(
    enum: OperatorEnumerator,
    windows: ChunkWindows,
    shape: ChunkShape,
    worker: str,
    aggregator: str | None,
) -> Candidate:
    """The cost-optimal chunk count of one model pair (votes 1): see :mod:`.chunking`."""
    span = windows.span(worker, aggregator)
    assert span is not None
    choice = _choice(worker, aggregator)
    found: dict[int, Candidate] = {}

    def cost(count: int) -> float:
        candidate = enum.score(choice, {"chunk": windows.size_for(count)})
        found[count] = candidate
        if candidate.outcome.window_violation is not None:
            return math.inf
        return candidate.outcome.log_cost

    search = cheapest_count(cost, windows.counts, *span, convex=shape.convex)
    enum.space.exact = enum.space.exact and search.exact
    return found[search.count]


def _fronts(
    enum: OperatorEnumerator,
    windows: ChunkWindows,
    pairs: Sequence[tuple[str, str | None]],
    models: Mapping[str, tuple[Model, ...]],
    votes: Mapping[str, tuple[int, ...]],
) -> list[Candidate]:
    """Role-wise fronts at every chunk count tried (all counts when few enough)."""
    lo = min(windows.worker_from[w] for w, _ in pairs)
    counts = windows.counts
    if windows.last - lo + 1 <= MULTI_METRIC_COUNT_LIMIT:
        tried = sorted(set(counts.distinct(lo, windows.last)))
    else:
        enum.space.exact = False
        shape = ChunkShape.of(enum.owner, enum.task)
        best = {_cheapest(enum, windows, shape, w, a).plan.param_map["chunk"] for w, a in pairs}
        step = (windows.last - lo) / (MULTI_METRIC_COUNT_SAMPLE - 1)
        spread = {counts[lo + round(j * step)] for j in range(MULTI_METRIC_COUNT_SAMPLE)}
        tried = sorted(spread | {counts.count_of(size) for size in best})
    candidates: list[Candidate] = []
    for count in tried:
        index = counts.index_at_least(count)
        workers = [
            m for m in models["worker"] if windows.worker_from.get(m.name, len(counts)) <= index
        ]
        options: dict[str, list[Option]] = {
            "worker": [(m.name, v) for m in workers for v in votes["worker"]]
        }
        reference = {"worker": (widest(workers).name, 1)} if workers else {}
        if "aggregator" in models:
            able = [
                m
                for m in models["aggregator"]
                if m.name in windows.aggregator_span
                and windows.aggregator_span[m.name][0]
                <= index
                <= windows.aggregator_span[m.name][1]
            ]
            options["aggregator"] = [(m.name, v) for m in able for v in votes["aggregator"]]
            if able:
                reference["aggregator"] = (widest(able).name, 1)
        if any(not o for o in options.values()):
            continue
        size = windows.size_for(count)
        candidates.extend(enum.combinations(options, reference, {"chunk": size}))
    return candidates


def _windows(
    enum: OperatorEnumerator, shape: ChunkShape, models: Mapping[str, tuple[Model, ...]]
) -> ChunkWindows | None:
    """Per model, the chunk counts whose calls fit its context window."""
    (param,) = [p for p in enum.spec.params(enum.task) if p.name == "chunk"]
    counts = ChunkCounts(shape.total)
    first = counts.index_at_least(counts.count_of(param.high))
    last = counts.index_at_most(counts.count_of(param.low))
    worker_from: dict[str, int] = {}
    for model in models["worker"]:
        index = _first_true(first, last, _fits(model, shape.worker_peak, counts))
        if index is not None:
            worker_from[model.name] = index
    if not worker_from:
        largest = max(window_of(m) for m in models["worker"])
        size = shape.total / counts[last]
        enum.space.problems[enum.operator] = (
            f"chunk of {size:g} + prompt {shape.prompt:g} exceeds every context window "
            f"(largest {largest:g})"
        )
        return None
    spans: dict[str, tuple[int, int]] = {}
    if "aggregator" in models:
        best = _argmin_convex(counts, first, last, lambda i: shape.aggregator_peak(counts[i]))
        for model in models["aggregator"]:
            if not model.fits(shape.aggregator_peak(counts[best])):
                continue
            fits = _fits(model, shape.aggregator_peak, counts)
            lo = _first_true(first, best, fits)
            hi = _last_true(best, last, fits)
            assert lo is not None and hi is not None
            spans[model.name] = (lo, hi)
        if not spans:
            peak = shape.aggregator_peak(counts[best])
            enum.space.problems[enum.operator] = (
                f"combining the chunks' results takes at least {peak:g} tokens, more than "
                f"every aggregator's context window"
            )
            return None
    return ChunkWindows(counts, param.low, param.high, worker_from, spans, last)


@dataclass(frozen=True)
class ChunkShape:
    """The sizes a chunked task's calls read and write, mirroring CHUNK_AGGREGATE."""

    total: float
    prompt: float
    output: float
    written: Callable[[float], float]
    convex: bool

    @classmethod
    def of(cls, owner: SpaceBuilder, task: Task) -> ChunkShape:
        assert task.chunkable is not None
        graph = owner.evaluator.graph
        total = owner.number(task.input_tokens + graph.incoming_tokens(task.id))
        expr = task.chunkable.aggregate_tokens.xreplace(owner.values)
        if CHUNK in expr.free_symbols:
            fn = sympy.lambdify(CHUNK, expr, modules="math")
        else:
            constant = float(expr)
            fn = lambda size: constant  # noqa: E731
        return cls(
            total=total,
            prompt=owner.number(task.prompt_tokens),
            output=owner.number(task.output_tokens),
            written=fn,
            convex=_nonnegative_polynomial(expr),
        )

    def worker_peak(self, count: int) -> float:
        size = self.total / count
        return self.prompt + size + float(self.written(size))

    def aggregator_peak(self, count: int) -> float:
        return self.prompt + count * float(self.written(self.total / count)) + self.output


def _nonnegative_polynomial(expr: sympy.Expr) -> bool:
    """Whether ``expr`` is a polynomial in the chunk size with nonnegative coefficients."""
    if expr.free_symbols - {CHUNK}:
        return False
    try:
        poly = sympy.Poly(expr, CHUNK)
    except sympy.PolynomialError:
        return False
    return all(bool(c >= 0) for c in poly.all_coeffs())


def _fits(model: Model, peak: Callable[[int], float], counts: ChunkCounts) -> Callable[[int], bool]:
    """Whether the model's window holds the peak call at the count index."""

    def test(index: int) -> bool:
        return model.fits(peak(counts[index]))

    return test


def _first_true(lo: int, hi: int, test: Callable[[int], bool]) -> int | None:
    """The first index in ``lo..hi`` where a monotone (false…true) ``test`` holds."""
    if lo > hi or not test(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if test(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _last_true(lo: int, hi: int, test: Callable[[int], bool]) -> int | None:
    """The last index in ``lo..hi`` where a monotone (true…false) ``test`` holds."""
    if lo > hi or not test(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if test(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _argmin_convex(counts: ChunkCounts, lo: int, hi: int, f: Callable[[int], float]) -> int:
    """An index on ``lo..hi`` minimizing ``f``, a convex function of the count at the index."""
    while hi - lo > 6:
        third = (hi - lo) // 3
        m1, m2 = lo + third, hi - third
        while m2 < hi and counts[m2] == counts[m1]:
            m2 += 1
        f1, f2 = f(m1), f(m2)
        if counts[m1] == counts[m2]:
            break
        if f1 < f2:
            hi = m2
        elif f1 > f2:
            lo = m1
        else:
            lo, hi = m1, m2
    return min(range(lo, hi + 1), key=f)
