"""Chunk counts of CHUNK_AGGREGATE that an earlier count provably beats: skipped unscored.

With success (or latency) in play :func:`~aalps.optimizer.chunk_enumeration.chunk_candidates`
tries every chunk count: per count the worker's and the aggregator's choices are filtered
role-wise (the aggregator's models × votes are most of the scoring), then their product is
scored. Most counts end up wholly dominated. :class:`CountPruner` proves that of a count
before anything at it is scored, so the count is skipped; the candidates left are those of
the full enumeration minus dominated ones, in the same order, so the filters downstream
keep the same plans.

Why a skipped count loses nothing
---------------------------------
The operator is role-separable: a plan's cost is the setup share plus the worker's calls
plus the aggregator's call (added in that order), its success the worker's times the
aggregator's (times the task's acceptance), its latency the sum. Let ``c1`` be a count
already scored and ``x = (c2, w, a)`` any choice at a later count ``c2``.

* *The aggregator's part.* It depends on the count only through the aggregator's input,
  ``prompt + c·written(N/c)`` (its output is fixed), and each figure is monotone in that
  input: cost nondecreasing (every cost model; PRICED only with plain prices, no cache or
  tier, else no count is skipped), success nonincreasing (per-token decay, then a majority
  of a lower reliability), latency nondecreasing (one call). When the input at ``c1`` is
  below the input at ``c2`` by a margin far above rounding, at the scale point and (when
  its figures count) at the far point, the aggregator's part of ``(c1, ·, a)`` is no worse
  than that of ``(c2, ·, a)``.
* *The worker's part*, measured exactly: a twin evaluator (:func:`free_twin`, the same
  request with one more model of size, prices and latency 0 and reliability 1) scores the
  plan with that free model as the aggregator. Its cost is the setup share plus the
  worker's cost plus 0.0, its success the worker's times 1.0 (times the acceptance), its
  latency the worker's: the very floats the evaluator combines with any aggregator's part.
  When a worker choice ``w1`` on the worker front of ``c1`` has a part no worse than
  ``w``'s at ``c2``, ``(c1, w1, a)`` is no worse than ``x`` in every figure (IEEE rounding
  of sums, products and logarithms is monotone; a success is compared strictly when the
  acceptance multiplies it, and a success that underflowed is only ever the worse side).
* At ``c1`` the aggregator choice ``a`` is on the role-wise front or dominated there by a
  choice ``a1`` on it (the separability the role-wise filter rests on), so ``(c1, w1, a1)``,
  a candidate scored before ``x``, is no worse than ``x``: the Pareto filter drops ``x``
  whatever else ``c2`` holds (the first of equal candidates is the one kept).

A count is skipped when every worker choice at it has such a witness at one scored count.
No model of the task's roles may carry a setup cost (the free model's share would differ).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from weakref import WeakKeyDictionary

import sympy
from aalps.cost_models.domain import Catalog, CostModel, Model, Task, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.cost_models.shapes import ray_values
from aalps.optimizer.chunking import written_tokens
from aalps.optimizer.space import Candidate, ChunkWindows, Metrics, Option

__all__ = ["FREE_MODEL", "MARGIN", "WITNESSES", "AggregatorInput", "CountPruner", "free_twin"]

#: The twin catalog's free aggregator (a name no catalog can hold: it starts with NUL).
FREE_MODEL = "\x00free aggregator"
#: Relative margin by which the aggregator's input must grow (rounding is ~1e-16).
MARGIN = 1e-9
#: The scored counts tried as witnesses, latest first (more rarely finds one: a count
#: beaten by an earlier one is mostly beaten by the last one scored).
WITNESSES = 2

_TWINS: WeakKeyDictionary[PlanEvaluator, PlanEvaluator] = WeakKeyDictionary()
_VALUES: WeakKeyDictionary[PlanEvaluator, dict[sympy.Symbol, sympy.Float]] = WeakKeyDictionary()


def free_twin(evaluator: PlanEvaluator) -> PlanEvaluator:
    """``evaluator`` with one more model, :data:`FREE_MODEL`: size, prices, latency and
    setup 0, reliability 1 on every capability of the catalog, no window (one per
    evaluator, remembered)."""
    twin = _TWINS.get(evaluator)
    if twin is None:
        models = evaluator.catalog.models
        capabilities = {c: sympy.Integer(1) for m in models for c in m.capabilities}
        free = Model(
            name=FREE_MODEL,
            size=sympy.Integer(0),
            size_value=0.0,
            capabilities=capabilities,
            latency_per_token=0.0,
        )
        twin = _TWINS[evaluator] = evaluator.with_catalog(Catalog((*models, free)))
    return twin


class PlanMaker(Protocol):
    """What the pruner needs from the enumerator: the task plan of a role choice."""

    def plan(self, choice: Mapping[str, Option], params: Mapping[str, int]) -> TaskPlan:
        """The task plan of ``choice`` (role -> (model, votes)) at ``params``."""
        ...


@dataclass(frozen=True)
class AggregatorInput:
    """The aggregator's input tokens at a chunk size: the sizes a chunked task reads."""

    total: float
    prompt: float
    written: Callable[[float], float]  # the tokens one chunk's call writes, by chunk size

    @classmethod
    def at(cls, task: Task, evaluator: PlanEvaluator) -> AggregatorInput:
        """The sizes of chunked ``task`` at ``evaluator``'s ray point (its parameters'
        values there, as :class:`~aalps.optimizer.chunk_enumeration.ChunkShape` reads them
        at the scale point)."""
        values = _VALUES.get(evaluator)
        if values is None:
            values = _VALUES[evaluator] = ray_values(evaluator.graph, evaluator.scale)

        def number(expr: sympy.Expr) -> float:
            try:
                return float(sympy.N(expr.xreplace(values), 30))
            except OverflowError:
                return math.inf

        assert task.chunkable is not None
        return cls(
            number(task.input_tokens + evaluator.facts.incoming[task.id]),
            number(task.prompt_tokens),
            written_tokens(task.chunkable.aggregate_tokens.xreplace(values))[0],
        )

    def span(self, size: int) -> tuple[float, float] | None:
        """The least and greatest input the evaluator may compute at ``size`` (a count
        that rounding could push across an integer is taken both ways); None when the
        figures are not finite."""
        if not (math.isfinite(self.total) and self.total > 0 and math.isfinite(self.prompt)):
            return None
        quotient = self.total / size
        nearest = round(quotient)
        counts = {max(1, math.ceil(quotient))}
        if abs(quotient - nearest) <= MARGIN * max(1.0, quotient):
            counts |= {max(1, nearest), nearest + 1}
        inputs = []
        for count in counts:
            written = float(self.written(self.total / count))
            inputs.append(self.prompt + count * written)
        if not all(math.isfinite(i) for i in inputs):
            return None
        return min(inputs), max(inputs)


@dataclass
class _Scored:
    """A count whose candidates were scored: its chunk size, worker front, and whether a
    candidate's success underflowed (its log then comes from mpmath) at the scale point
    and at the far point."""

    index: int
    size: int
    workers: tuple[Option, ...]
    underflow: tuple[bool, bool]


@dataclass
class CountPruner:
    """Proves chunk counts of one task dominated by counts scored before (see the module).

    Call :meth:`dominated` before scoring a count and :meth:`scored` after.
    """

    maker: PlanMaker
    windows: ChunkWindows
    metrics: Metrics
    near: PlanEvaluator  # the free twins
    far: PlanEvaluator | None
    inputs: tuple[AggregatorInput, AggregatorInput | None]  # scale point, far point
    strict_success: bool  # an acceptance multiplies the success: compare strictly
    certain: frozenset[Option]  # worker choices whose success is exactly 1.0 at every count
    _done: list[_Scored] = field(default_factory=list)
    _parts: dict[tuple[int, Option, bool], TaskOutcome] = field(default_factory=dict)
    _spans: dict[tuple[int, int], tuple[float, float] | None] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        maker: PlanMaker,
        windows: ChunkWindows,
        models: Mapping[str, tuple[Model, ...]],
        *,
        metrics: Metrics,
        evaluator: PlanEvaluator,
        far: PlanEvaluator | None,
        inputs: tuple[AggregatorInput, AggregatorInput | None],
        acceptance: bool,
        capability: str,
    ) -> CountPruner | None:
        """A pruner for the task, or None when the argument does not hold for it (no
        aggregator, a setup cost, PRICED with cache or tier prices, far figures without
        the far point's sizes). ``capability``: the worker's."""
        if "aggregator" not in models:
            return None
        if any(m.setup_cost != 0 for ms in models.values() for m in ms):
            return None
        if evaluator.request.cost_model is CostModel.PRICED and any(
            m.price_per_cached_input_token != 0
            or m.tier_threshold_tokens
            or m.tier_prices is not None
            or m.batch_tier_prices is not None
            for m in models["aggregator"]
        ):
            return None
        far_figures = far if metrics.far else None
        if far_figures is not None and inputs[1] is None:
            return None
        # One vote of a model that is always right and does not decay: the worker's
        # reliability is 1.0, its power over decisions and chunks 1.0 (mpmath's too).
        certain = frozenset(
            (m.name, 1)
            for m in models["worker"]
            if m.capabilities[capability] == 1 and m.per_token_error == 0
        )
        return cls(
            maker,
            windows,
            metrics,
            free_twin(evaluator),
            free_twin(far_figures) if far_figures is not None else None,
            inputs,
            acceptance,
            certain,
        )

    def scored(self, index: int, size: int, candidates: Sequence[Candidate]) -> None:
        """Record a scored count: a witness for later ones when its candidates' costs are
        finite floats."""
        if not candidates:
            return
        underflow = [False, False]
        for c in candidates:
            for point, outcome in enumerate((c.outcome, c.far)):
                if outcome is None:
                    continue
                if not math.isfinite(outcome.expected_cost):
                    return
                underflow[point] = underflow[point] or outcome.success_probability == 0.0
        workers = {
            (a.model, a.votes) for c in candidates for a in c.plan.roles if a.role == "worker"
        }
        self._done.append(
            _Scored(index, size, tuple(sorted(workers)), (underflow[0], underflow[1]))
        )

    def dominated(self, index: int, size: int, options: Mapping[str, Sequence[Option]]) -> bool:
        """Whether every choice among ``options`` at chunk ``size`` (count index ``index``)
        has a witness at one scored count."""
        spans = self.windows.aggregator_span
        aggregators = {o[0] for o in options["aggregator"]}
        for done in reversed(self._done[-WITNESSES:]):
            if not all(spans[m][0] <= done.index <= spans[m][1] for m in aggregators):
                continue
            if not self._aggregator_cheaper(done.size, size):
                continue
            if all(
                any(self._no_worse(done, w1, size, w) for w1 in done.workers)
                for w in options["worker"]
            ):
                return True
        return False

    def _aggregator_cheaper(self, before: int, after: int) -> bool:
        """Whether the aggregator reads fewer tokens at chunk size ``before`` than at
        ``after`` (by :data:`MARGIN`), at the scale point and, when it counts, far away."""
        for point in (0, 1) if self.far is not None else (0,):
            low, high = self._span(point, before) or (math.inf, math.inf), self._span(point, after)
            if high is None or not low[1] < high[0] * (1.0 - MARGIN):
                return False
        return True

    def _span(self, point: int, size: int) -> tuple[float, float] | None:
        """:meth:`AggregatorInput.span` at the scale point (0) or the far point (1)."""
        key = (point, size)
        if key not in self._spans:
            shape = self.inputs[point]
            assert shape is not None
            self._spans[key] = shape.span(size)
        return self._spans[key]

    def _part(self, size: int, option: Option, far: bool) -> TaskOutcome:
        """The worker's part at chunk ``size`` (the plan with the free aggregator), at the
        scale point or the far point."""
        key = (size, option, far)
        part = self._parts.get(key)
        if part is None:
            plan = self.maker.plan(
                {"worker": option, "aggregator": (FREE_MODEL, 1)}, {"chunk": size}
            )
            twin = self.far if far else self.near
            assert twin is not None
            part = self._parts[key] = twin.task_outcome(plan)
        return part

    def _no_worse(self, done: _Scored, w1: Option, size2: int, w2: Option) -> bool:
        """Whether worker choice ``w1`` at ``done``'s chunk size is no worse than ``w2`` at
        ``size2`` in every figure the search compares (the far point's only when the
        scale point's hold)."""
        metrics, tie = self.metrics, w1 in self.certain and w2 in self.certain
        if not self._figures_no_worse(
            self._part(done.size, w1, False),
            self._part(size2, w2, False),
            metrics.success,
            metrics.latency,
            done.underflow[0],
            tie,
        ):
            return False
        return self.far is None or self._figures_no_worse(
            self._part(done.size, w1, True),
            self._part(size2, w2, True),
            metrics.ratio,
            False,
            done.underflow[1],
            tie,
        )

    def _figures_no_worse(
        self,
        a: TaskOutcome,
        b: TaskOutcome,
        success: bool,
        latency: bool,
        underflow: bool,
        tie: bool,
    ) -> bool:
        """Whether worker part ``a`` is no worse than ``b``: cost, success (when it
        counts), latency (when it counts).

        The plans' figures add the same aggregator part to both in floats, so ``<=``
        carries over, except where they multiply in the acceptance (equal parts may round
        apart: strict, unless both are exactly 1.0, ``tie``) or where a plan's success
        underflowed (its log is recomputed in mpmath, ``underflow``: the logs must part
        by :data:`MARGIN`).
        """
        if not (math.isfinite(a.expected_cost) and a.expected_cost <= b.expected_cost):
            return False
        if success and not tie:
            if underflow or a.success_probability == 0.0:
                gap = a.log_success - b.log_success
                if not gap > MARGIN * max(1.0, abs(b.log_success)):
                    return False
            elif self.strict_success:
                if not a.success_probability > b.success_probability:
                    return False
            elif not a.success_probability >= b.success_probability:
                return False
        return not latency or (math.isfinite(a.latency) and a.latency <= b.latency)
