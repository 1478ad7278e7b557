"""Every alternative task plan of one stability analysis, numbered once, with its figures.

The ranges of :mod:`aalps.optimizer.stability` walk the same alternatives again for every
figure: each price or size, and each reliability of each model. :class:`PlanPool` numbers a
task plan the first time any figure meets it (an *id*), keeps what it involves (its
(model, capability) and (model, "") pairs, and the ids by those sets) and, once a figure first needs
them, its figures under the request's own evaluator in arrays by id. A figure's
alternatives are then a list of ids, and the arrays its range compares are gathered from
the pool's in a few numpy operations instead of one dictionary look-up (a task plan hashed)
per alternative and figure.

The figures are the evaluator's own (:meth:`PlanEvaluator.task_outcome`, the same floats);
a task plan is scored when a figure first asks for it, in that figure's order, so exactly
the task plans the per-alternative walk scored are scored, in the same order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import numpy as np
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import TaskOutcome
from aalps.optimizer.stability_shared import SharedScorer

__all__ = ["Figures", "Pairs", "PlanPool"]

#: What a task plan involves: (model, capability) and (model, "") pairs.
Pairs = Callable[[TaskPlan], frozenset[tuple[str, str | None]]]


class Figures:
    """The figures of some alternatives (by position), gathered from a :class:`PlanPool`:
    their expected cost, success and whether a role's call exceeds a context window."""

    def __init__(self, cost: np.ndarray, success: np.ndarray, window: np.ndarray) -> None:
        self.cost, self.success, self.window = cost, success, window


class PlanPool:
    """Task plans by id (the order first met), the ids by the pairs they involve, and their
    figures under ``scorer``'s evaluator (scored on first need)."""

    def __init__(self, scorer: SharedScorer) -> None:
        self.scorer = scorer
        self.plans: list[TaskPlan] = []
        self.ids: dict[TaskPlan, int] = {}
        self.pairs: list[frozenset[tuple[str, str | None]]] = []  # by id
        # The ids by what they involve (a few sets, shared by many task plans).
        self._by_pairs: dict[frozenset[tuple[str, str | None]], list[int]] = {}
        self.outcomes: list[TaskOutcome | None] = []
        self._cost = np.zeros(0)
        self._success = np.zeros(0)
        self._window = np.zeros(0, dtype=bool)
        self._have = np.zeros(0, dtype=bool)

    def add(self, tp: TaskPlan, involved: Pairs) -> int:
        """The id of ``tp`` (numbered now if new, with the pairs ``involved`` says it
        involves; passed per call, not kept: the pool refers to no context, so a context
        and its pool are freed when the analysis ends, without waiting for the collector)."""
        return self.add_all((tp,), involved)[0]

    def add_all(self, plans: Iterable[TaskPlan], involved: Pairs) -> list[int]:
        """:meth:`add` of each of ``plans``, in order."""
        found: list[int] = []
        ids, known_plans, outcomes, every_pairs = self.ids, self.plans, self.outcomes, self.pairs
        get, append, by_pairs = ids.get, found.append, self._by_pairs
        for tp in plans:
            known = get(tp)
            if known is None:
                known = ids[tp] = len(known_plans)
                known_plans.append(tp)
                outcomes.append(None)
                pairs = involved(tp)
                every_pairs.append(pairs)
                listed = by_pairs.get(pairs)
                if listed is None:
                    by_pairs[pairs] = [known]
                else:
                    listed.append(known)
            append(known)
        return found

    def involving(self, pair: tuple[str, str]) -> np.ndarray:
        """Per id, whether its task plan involves ``pair`` (:meth:`StabilityContext.involves`)."""
        mask = np.zeros(len(self.plans), dtype=bool)
        found = [listed for pairs, listed in self._by_pairs.items() if pair in pairs]
        if found:
            mask[np.fromiter(itertools.chain.from_iterable(found), dtype=np.intp)] = True
        return mask

    def outcome(self, g: int) -> TaskOutcome:
        """The figures of task plan ``g`` under the evaluator (scored on first need)."""
        known = self.outcomes[g]
        if known is None:
            known = self.outcomes[g] = self.scorer.task_outcome(self.plans[g])
        return known

    def figures(self, ids: np.ndarray) -> Figures:
        """The figures of the task plans ``ids``, those never scored scored now in order."""
        self._grow()
        missing = ids[~self._have[ids]]
        if len(missing):
            outcomes = [self.outcome(g) for g in missing.tolist()]
            self._cost[missing] = [o.expected_cost for o in outcomes]
            self._success[missing] = [o.success_probability for o in outcomes]
            self._window[missing] = [o.window_violation is not None for o in outcomes]
            self._have[missing] = True
        return Figures(self._cost[ids], self._success[ids], self._window[ids])

    def _grow(self) -> None:
        """The arrays at least as long as the plans (doubling)."""
        size = len(self._have)
        if size >= len(self.plans):
            return
        new = max(2 * size, len(self.plans), 1024)
        self._cost = np.concatenate([self._cost, np.zeros(new - size)])
        self._success = np.concatenate([self._success, np.zeros(new - size)])
        self._window = np.concatenate([self._window, np.zeros(new - size, dtype=bool)])
        self._have = np.concatenate([self._have, np.zeros(new - size, dtype=bool)])
