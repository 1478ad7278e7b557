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
role-separable), and a count that an earlier one provably dominates is skipped before
anything at it is scored (:mod:`aalps.optimizer.chunk_pruning`).

The search takes what it needs from the enumerator as a small :class:`Scorer` protocol
(score one choice, score a product of role choices) and plain arguments, so this module does
not import :mod:`aalps.optimizer.enumeration`, which calls it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import sympy
from aalps.cost_models.domain import Model, Operator, Task, TaskPlan
from aalps.cost_models.operators import ParamSpec
from aalps.optimizer.chunk_pruning import CountPruner
from aalps.optimizer.chunking import ChunkCounts, cheapest_count, written_tokens
from aalps.optimizer.space import (
    Candidate,
    ChunkWindows,
    Metrics,
    Option,
    TaskSpace,
    feasible_in_order,
    widest,
    window_of,
)

__all__ = [
    "MULTI_METRIC_COUNT_LIMIT",
    "MULTI_METRIC_COUNT_SAMPLE",
    "ChunkShape",
    "Scorer",
    "chunk_candidates",
]

_OPERATOR = Operator.CHUNK_AGGREGATE

#: With success or latency in play, up to this many chunk counts are all tried (exact).
MULTI_METRIC_COUNT_LIMIT = 256
#: Beyond it: the cost optimum of every model pair plus this many counts spread evenly.
MULTI_METRIC_COUNT_SAMPLE = 48


class Scorer(Protocol):
    """What the chunk search needs from the enumerator of a CHUNK_AGGREGATE task.

    :class:`~aalps.optimizer.enumeration.OperatorEnumerator` is one; the search calls
    :meth:`score` for one model pair at one chunk size, and :meth:`combinations` for every
    role choice at one chunk size.
    """

    def score(self, choice: Mapping[str, Option], params: Mapping[str, int]) -> Candidate:
        """The task plan of ``choice`` (role -> (model, votes)) at ``params``, scored."""
        ...

    def plan(self, choice: Mapping[str, Option], params: Mapping[str, int]) -> TaskPlan:
        """The task plan of ``choice`` at ``params`` (not scored)."""
        ...

    def combinations(
        self,
        options: Mapping[str, Sequence[Option]],
        reference: Mapping[str, Option],
        params: Mapping[str, int],
    ) -> list[Candidate]:
        """The feasible (role-wise non-dominated) choices among ``options`` at ``params``."""
        ...


def chunk_candidates(
    scorer: Scorer,
    space: TaskSpace,
    shape: ChunkShape,
    chunk: ParamSpec,
    models: Mapping[str, tuple[Model, ...]],
    votes: Mapping[str, tuple[int, ...]],
    *,
    metrics: Metrics,
    capabilities: Mapping[str, str],
    pruner: Callable[[ChunkWindows], CountPruner | None] | None = None,
) -> tuple[list[Candidate], dict[str, tuple[str, ...]], ChunkWindows | None]:
    """CHUNK_AGGREGATE's feasible candidates on one task, its feasible models, its windows.

    Parameters
    ----------
    scorer
        Scores the task's plans (the operator's enumerator).
    space
        The task's space: the reason is recorded in ``space.problems`` when no chunk size
        fits, and ``space.exact`` cleared when counts are sampled.
    shape
        The sizes the task's calls read and write (:meth:`ChunkShape.of`).
    chunk
        The operator's ``chunk`` parameter (its range of chunk sizes).
    models, votes
        Per role (``worker``, ``aggregator``), the capable models and the vote counts to try.
    metrics
        The figures compared besides cost.
    capabilities
        Per role, the capability it needs.
    pruner
        Makes the task's :class:`~aalps.optimizer.chunk_pruning.CountPruner` from its
        windows (None, or returning None: every count tried is scored).

    Returns
    -------
    candidates, feasible, windows
        The feasible scored plans; per role the models some chunk size fits, in catalog
        order; the chunk counts each window allows (None when nothing fits).
    """
    if not shape.total > 0:
        space.problems[_OPERATOR] = "there is no input to cut into chunks"
        return [], {}, None
    windows = _windows(space, shape, chunk, models)
    if windows is None:
        return [], {}, None
    workers = tuple(m.name for m in models["worker"] if m.name in windows.worker_from)
    aggregators: tuple[str | None, ...] = (None,)
    if "aggregator" in models:
        aggregators = tuple(windows.aggregator_span)
    pairs = [(w, a) for w in workers for a in aggregators if windows.span(w, a) is not None]
    if not pairs:
        space.problems[_OPERATOR] = (
            "no worker and aggregator fit a common chunk size in their context windows"
        )
        return [], {}, None
    if metrics.latency or (metrics.success and _success_varies(capabilities, models, votes)):
        skip = pruner(windows) if pruner is not None else None
        candidates = _fronts(scorer, space, shape, windows, pairs, models, votes, skip)
    else:
        candidates = [_cheapest(scorer, space, windows, shape, w, a) for w, a in pairs]
    feasible: dict[str, set[str]] = {"worker": {w for w, _ in pairs}}
    if "aggregator" in models:
        feasible["aggregator"] = {a for _, a in pairs if a is not None}
    ok = [c for c in candidates if c.outcome.window_violation is None]
    return ok, feasible_in_order(models, feasible), windows


def _success_varies(
    capability: Mapping[str, str],
    models: Mapping[str, tuple[Model, ...]],
    votes: Mapping[str, tuple[int, ...]],
) -> bool:
    """Whether the chunk count can change the task's success probability.

    Not when every capable model is always right (reliability 1, no per-token error) and
    nothing is voted on: then cost alone ranks the counts, and the exact cost search holds.
    """
    return any(len(v) > 1 for v in votes.values()) or any(
        float(m.capabilities[capability[role]]) < 1.0 or float(m.per_token_error) > 0.0
        for role, ms in models.items()
        for m in ms
    )


def _choice(worker: str, aggregator: str | None) -> dict[str, Option]:
    """One vote each for the worker and (when there is one) the aggregator."""
    choice: dict[str, Option] = {"worker": (worker, 1)}
    if aggregator is not None:
        choice["aggregator"] = (aggregator, 1)
    return choice


def _cheapest(
    scorer: Scorer,
    space: TaskSpace,
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
        candidate = scorer.score(choice, {"chunk": windows.size_for(count)})
        found[count] = candidate
        if candidate.outcome.window_violation is not None:
            return math.inf
        return candidate.outcome.log_cost

    search = cheapest_count(cost, windows.counts, *span, convex=shape.convex)
    space.exact = space.exact and search.exact
    return found[search.count]


def _fronts(
    scorer: Scorer,
    space: TaskSpace,
    shape: ChunkShape,
    windows: ChunkWindows,
    pairs: Sequence[tuple[str, str | None]],
    models: Mapping[str, tuple[Model, ...]],
    votes: Mapping[str, tuple[int, ...]],
    pruner: CountPruner | None = None,
) -> list[Candidate]:
    """Role-wise fronts at every chunk count tried (all counts when few enough), but for
    the counts ``pruner`` proves dominated by counts scored before them."""
    lo = min(windows.worker_from[w] for w, _ in pairs)
    counts = windows.counts
    if windows.last - lo + 1 <= MULTI_METRIC_COUNT_LIMIT:
        tried = sorted(set(counts.distinct(lo, windows.last)))
    else:
        space.exact = False
        best = {
            _cheapest(scorer, space, windows, shape, w, a).plan.param_map["chunk"] for w, a in pairs
        }
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
        if pruner is not None and pruner.dominated(index, size, options):
            continue
        scored = scorer.combinations(options, reference, {"chunk": size})
        candidates.extend(scored)
        if pruner is not None:
            pruner.scored(index, size, scored)
    return candidates


def _windows(
    space: TaskSpace,
    shape: ChunkShape,
    param: ParamSpec,
    models: Mapping[str, tuple[Model, ...]],
) -> ChunkWindows | None:
    """Per model, the chunk counts whose calls fit its context window."""
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
        space.problems[_OPERATOR] = (
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
            space.problems[_OPERATOR] = (
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
    def of(
        cls,
        task: Task,
        *,
        incoming: sympy.Expr,
        values: Mapping[sympy.Symbol, sympy.Expr],
        number: Callable[[sympy.Expr], float],
    ) -> ChunkShape:
        """The shape of chunked ``task`` at the scale point.

        Parameters
        ----------
        task
            A task with a ``chunkable`` fact.
        incoming
            The tokens its predecessors hand it (added to its own input).
        values
            The free parameters' values at the scale point.
        number
            An expression's value at the scale point, computed as the evaluator does.
        """
        assert task.chunkable is not None
        total = number(task.input_tokens + incoming)
        fn, convex = written_tokens(task.chunkable.aggregate_tokens.xreplace(values))
        return cls(
            total=total,
            prompt=number(task.prompt_tokens),
            output=number(task.output_tokens),
            written=fn,
            convex=convex,
        )

    def worker_peak(self, count: int) -> float:
        """The tokens one worker call holds (prompt, chunk, written) at ``count`` chunks."""
        size = self.total / count
        return self.prompt + size + float(self.written(size))

    def aggregator_peak(self, count: int) -> float:
        """The tokens the aggregator's call holds (prompt, every chunk's result, output)."""
        return self.prompt + count * float(self.written(self.total / count)) + self.output


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
