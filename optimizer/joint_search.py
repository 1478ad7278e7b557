"""The joint search over the tasks' filtered choices, cheapest exact method first.

One objective (cost): joint enumeration when the product of the tasks' choice counts is
small (with no coupling constraint every task keeps one choice, so this is the per-task
argmin), else the exact phase of :mod:`aalps.optimizer.coupled_search` (branch and bound,
the Pareto dynamic program over series-parallel parts, branch and bound again), else
Optuna's TPE warm-started from the best incumbents. One other objective (latency or
failure probability): the best achievable figure is known exactly, so the cheapest plan
reaching it is a constrained search. Several objectives: the Pareto front by joint
enumeration, else NSGA-II started from ε-constraint plans. Every solution names its
method and proven gap; results that Optuna did not produce are recorded as trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import optuna
from aalps.cost_models.domain import Objective, OptimizeRequest, Plan, SearchObjective
from aalps.cost_models.errors import FieldViolation, InfeasibleError, SearchBudgetExhaustedError
from aalps.cost_models.evaluation import PlanEvaluation, PlanEvaluator, PlanOutcome
from aalps.optimizer.branch_and_bound import BranchResult, branch_and_bound
from aalps.optimizer.constraints import jointly_unreachable, meets, unreachable
from aalps.optimizer.cost_of_pass import best_ratio_selection
from aalps.optimizer.coupled_search import Method, exact_phase
from aalps.optimizer.exact import (
    ENUMERATION_LIMIT,
    JointProblem,
    Selection,
    cheapest_enumerated,
    enumerate_joint,
    far_problem,
)
from aalps.optimizer.incumbents import greedy_repair, improve_value, lagrangian_incumbent
from aalps.optimizer.pareto import nondominated, thin
from aalps.optimizer.plan_params import PlanParams
from aalps.optimizer.progress import Reporter
from aalps.optimizer.ray import TIE_TOLERANCE
from aalps.optimizer.reach import bounded_problem, cheapest_within, reachable
from aalps.optimizer.result import SearchCancelled
from aalps.optimizer.search import OptunaSearch, nsga2_sampler, tpe_sampler
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.study import create_study, objective_values, record

__all__ = [
    "JointSearch",
    "MAX_FRONT",
    "SWEEP_NODES",
    "SWEEP_POINTS",
    "Solution",
    "T",
]

T = TypeVar("T")

#: A Pareto front longer than this is thinned, evenly along the cost axis.
MAX_FRONT = 50
#: NSGA-II starts from this many ε-constraint plans per objective besides cost.
SWEEP_POINTS = 8
#: The node budget of each ε-constraint search.
SWEEP_NODES = 20_000


@dataclass(frozen=True)
class Solution:
    """The plan (or the front, plan first) a search settled on."""

    plans: list[Plan]
    exact: bool
    recorded: bool = False
    selection: Selection | None = None
    method: str = ""  # a coupled_search.Method
    gap: float | None = None


class JointSearch:
    """One request's joint search over its built spaces.

    ``study``: the working study the caller keeps (its trials are copied to a stored one),
    which the search runs on and the results are recorded into; None when no one keeps
    one: a search that runs trials then makes an in-memory study of its own, and
    :meth:`record_results` records nothing.

    Raises :class:`~aalps.cost_models.errors.InfeasibleError` on construction when a coupling
    constraint is out of reach even on its own.
    """

    def __init__(
        self,
        request: OptimizeRequest,
        evaluator: PlanEvaluator,
        spaces: Sequence[TaskSpace],
        study: optuna.Study | None,
        reporter: Reporter,
    ) -> None:
        self.request = request
        self.evaluator = evaluator
        self.constraints = request.constraints
        self.objectives = request.search.objectives
        self.study = study
        #: Whether the results go to the caller's study (:meth:`record_results`).
        self.keeps_study = study is not None
        self.reporter = reporter
        self.params = PlanParams(spaces)
        self.ratio = not self.objectives and (
            request.search.objective is SearchObjective.COST_OF_PASS
        )
        self.problem = JointProblem.of(evaluator, spaces, request.constraints, ratio=self.ratio)
        self.spaces_exact = all(s.exact for s in spaces)
        reasons = unreachable(self.problem, self.constraints)
        if reasons:
            raise InfeasibleError(reasons)

    # --- one objective -----------------------------------------------------------------

    def cheapest(self) -> Solution:
        """The best feasible plan by the request's objective at the scale point.

        Ties (within :data:`~aalps.optimizer.ray.TIE_TOLERANCE`) go to the asymptotically smaller
        plan: exactly under enumeration, by one-task moves among equals otherwise.
        """
        problem = self.problem
        if problem.size <= ENUMERATION_LIMIT:
            selection = cheapest_enumerated(problem)
            if selection is None:
                raise InfeasibleError([jointly_unreachable(self.constraints)])
            self._offer(selection)
            return self._solution(selection, self.spaces_exact, Method.ENUMERATION)
        if self.ratio and not self.constraints.coupled:
            selection = self._tie_break(best_ratio_selection(problem))
            self._offer(selection)
            return self._solution(selection, self.spaces_exact, Method.COST_OF_PASS_SWEEP)
        warm = self._warm_starts()
        found = exact_phase(problem, warm, self.reporter)
        if found.complete:
            if found.selection is None:
                raise InfeasibleError([jointly_unreachable(self.constraints)])
            exact = found.gap == 0.0 and self.spaces_exact
            selection = self._tie_break(found.selection)
            return self._solution(selection, exact, found.method, found.gap)
        if self.reporter.stop_requested() or self.reporter.out_of_time():
            return self._interrupted(found.selection)
        return self._tpe([s for s in [found.selection, *warm] if s is not None])

    def asymptotic(self, solution: Solution) -> Selection | None:
        """The feasible plan with the best objective far along the scale ray, or None.

        Exact by enumeration, or without coupling constraints by the same exact methods on
        the far figures; otherwise the plan improved by one-task moves (not exact). Ties go
        to the plan better at the scale point.
        """
        problem = self.problem
        if problem.far_cost is None or problem.far_logs is None:
            return None
        if problem.size <= ENUMERATION_LIMIT:
            return cheapest_enumerated(problem, asymptotic=True)
        start = solution.selection
        if not self.constraints.coupled:
            far = far_problem(problem)
            if self.ratio:
                return best_ratio_selection(far)
            return tuple(int(np.argmin(costs)) for costs in far.cost)
        if start is None:
            return None
        return improve_value(problem, start, rounds=200, far=True, deadline=self.reporter.deadline)

    def _tie_break(self, selection: Selection) -> Selection:
        """Among plans equal to ``selection`` at the scale point, the asymptotically smaller."""
        problem = self.problem
        if problem.far_cost is None:
            return selection
        value = problem.value(problem.figures(selection))
        within = value + (TIE_TOLERANCE if self.ratio else TIE_TOLERANCE * abs(value))
        return improve_value(
            problem, selection, far=True, within=within, deadline=self.reporter.deadline
        )

    def _solution(
        self, selection: Selection, exact: bool, method: str, gap: float | None = 0.0
    ) -> Solution:
        gap = gap if exact or gap else None  # not exact and no bound: the gap is unknown
        plan = self.problem.plan(selection)
        return Solution([plan], exact, selection=selection, method=method, gap=gap)

    def _tpe(self, starts: list[Selection]) -> Solution:
        search = self._search()
        self.reporter.expect(self.request.search.n_trials)
        search.run(self.request.search.n_trials, [self.problem.plan(s) for s in starts])
        best = search.cheapest()
        if best is not None:
            selection = self.selection_of(best[0])
            return Solution([best[0]], False, True, selection, method=Method.TPE)
        if starts:
            return self._solution(starts[0], False, Method.TPE, None)
        return self._interrupted(None)

    def selection_of(self, plan: Plan) -> Selection | None:
        """The indices of a plan's task plans among the candidates (None if one is not)."""
        picks = []
        for choices, task_plan in zip(self.problem.choices, plan.tasks, strict=True):
            index = next((j for j, c in enumerate(choices) if c.plan == task_plan), None)
            if index is None:
                return None
            picks.append(index)
        return tuple(picks)

    def _interrupted(self, selection: Selection | None) -> Solution:
        if selection is not None:
            return self._solution(selection, False, Method.INTERRUPTED, None)
        if self.reporter.stop_requested():
            raise SearchCancelled("stopped before any feasible plan was found")
        raise SearchBudgetExhaustedError(
            [
                FieldViolation(
                    "constraints",
                    "no plan meeting the constraints was found within the search budget "
                    "(search.n_trials, search.timeout_seconds)",
                )
            ]
        )

    def _warm_starts(self) -> list[Selection]:
        """Feasible greedy plans, cheapest first: the Lagrangian incumbent and a repair.

        Each honours the deadline (a repair cut short is dropped, an improvement cut short
        keeps the feasible plan it has).
        """
        problem, deadline = self.problem, self.reporter.deadline
        found = [
            lagrangian_incumbent(problem, deadline=deadline),
            greedy_repair(problem, self._cheapest(), deadline=deadline),
        ]
        if self.ratio:
            found.append(best_ratio_selection(problem))
            found = [
                improve_value(problem, s, deadline=deadline) if s is not None else None
                for s in found
            ]
        unique = {s for s in found if s is not None and problem.feasible(problem.figures(s))}
        ranked = sorted(unique, key=lambda s: (problem.value(problem.figures(s)), s))
        if ranked:
            self._offer(ranked[0])
        return ranked

    def _offer(self, selection: Selection) -> None:
        self.reporter.offer(self.problem.unscaled(self.problem.figures(selection).cost))

    def _search(self) -> OptunaSearch:
        """The Optuna search on the study, whose seeded sampler is set here (the study was
        created without one: :func:`~aalps.optimizer.study.create_study`): NSGA-II for
        several objectives, else TPE. Without the caller's study, an in-memory one is made."""
        if self.study is None:
            self.study = create_study(objectives=self.objectives, storage=None, study_name=None)
        seed = self.request.search.seed
        multi = len(self.objectives) >= 2
        self.study.sampler = nsga2_sampler(seed) if multi else tpe_sampler(seed)
        return OptunaSearch(
            self.evaluator,
            self.params,
            self.study,
            self.objectives,
            self.constraints,
            self.reporter,
            ratio=self.ratio,
        )

    # --- several objectives -------------------------------------------------------------

    def front(self) -> Solution:
        """The Pareto front (for one non-cost objective: its best plan, cost breaking ties)."""
        objectives = tuple(self.objectives)
        if len(objectives) == 1:
            objectives = (objectives[0], Objective.COST)
        if self.problem.size <= ENUMERATION_LIMIT:
            plans, exact = self._enumerated_front(objectives), self.spaces_exact
            recorded, method = False, Method.ENUMERATION
        else:
            if len(self.objectives) == 1:
                best = self._extreme(self.objectives[0])
                if best is not None:
                    return best
            plans, exact, recorded, method = (
                self._nsga2_front(objectives),
                False,
                True,
                Method.NSGA2,
            )
        if len(self.objectives) == 1:
            plans = plans[:1]
        return Solution(plans, exact, recorded, method=method, gap=0.0 if exact else None)

    def _enumerated_front(self, objectives: Sequence[Objective]) -> list[Plan]:
        problem = self.problem
        arrays = enumerate_joint(problem)
        rows = np.nonzero(arrays.feasible)[0]
        if rows.size == 0:
            raise InfeasibleError([jointly_unreachable(self.constraints)])
        columns = {
            Objective.COST: arrays.cost,
            Objective.LATENCY: arrays.latency,
            Objective.FAILURE_PROBABILITY: 1.0 - arrays.success,
        }
        points = np.stack([columns[o][rows] for o in objectives], axis=1)
        kept = rows[nondominated(points)]
        order = sorted(kept.tolist(), key=lambda r: tuple(columns[o][r] for o in objectives))
        if len(self.objectives) >= 2:
            order = thin(sorted(order, key=lambda r: (arrays.cost[r], r)), MAX_FRONT)
        plans = [problem.plan(arrays.selection(problem, r)) for r in order]
        self.reporter.offer(problem.unscaled(float(arrays.cost[order[0]])))
        return plans

    def _extreme(self, objective: Objective) -> Solution | None:
        """The cheapest plan among the most reliable (or fastest) ones, by branch and bound.

        The best success probability (the product of the tasks' best) and the shortest
        critical path (every task at its fastest) are known exactly; the cheapest plan that
        reaches it is a constrained search. When the request's other constraints rule that
        extreme out, the best reachable figure is found by bisection (:meth:`_reachable`).
        None when neither settles it within the node budget.
        """
        result = self._cheapest_within(self._bounded(objective, 1.0))
        if result.complete and result.selection is None:
            result = self._reachable(objective)
        if result.selection is None:
            return None
        self._offer(result.selection)
        plan = self.problem.plan(result.selection)
        exact = result.complete and self.spaces_exact
        method = Method.BRANCH_AND_BOUND if result.complete else Method.INTERRUPTED
        return Solution([plan], exact, method=method, gap=0.0 if exact else None)

    def _cheapest_within(self, bounded: JointProblem) -> BranchResult:
        return cheapest_within(bounded, self.reporter)

    def _reachable(self, objective: Objective) -> BranchResult:
        return reachable(self.problem, objective, self.reporter)

    def _bounded(self, objective: Objective, position: float) -> JointProblem:
        return bounded_problem(self.problem, objective, position)

    def _sweep(self, objectives: Sequence[Objective]) -> list[Selection]:
        """ε-constraint points for NSGA-II to start from: the cheapest plans under a sweep of
        limits on each other objective (branch and bound with a small node budget)."""
        found: list[Selection] = []
        for objective in objectives:
            if objective is Objective.COST:
                continue
            for position in np.linspace(1.0 / SWEEP_POINTS, 1.0, SWEEP_POINTS):
                if self.reporter.stop_requested() or self.reporter.out_of_time():
                    return found
                bounded = self._bounded(objective, float(position))
                incumbent = lagrangian_incumbent(bounded) or greedy_repair(
                    bounded, self._cheapest()
                )
                if incumbent is None:
                    continue
                result = branch_and_bound(bounded, incumbent=incumbent, node_budget=SWEEP_NODES)
                found.append(result.selection or incumbent)
        return found

    def _cheapest(self) -> Selection:
        """Every task at its cheapest choice (the candidates are sorted by cost)."""
        return tuple(0 for _ in self.problem.cost)

    def _nsga2_front(self, objectives: Sequence[Objective]) -> list[Plan]:
        problem = self.problem
        starts = self._warm_starts() + self._sweep(objectives)
        for figure in (problem.success, [[-x for x in xs] for xs in problem.latency]):
            starts.append(tuple(int(np.argmax(xs)) for xs in figure))
        starts.insert(0, self._cheapest())
        search = self._search()
        self.reporter.expect(self.request.search.n_trials)
        search.run(self.request.search.n_trials, [problem.plan(s) for s in starts])
        feasible = search.feasible()
        if not feasible:
            return self._interrupted(None).plans
        points = np.array([objective_values(o, objectives) for _, _, o in feasible])
        kept = nondominated(points)
        entries = sorted((feasible[i] for i in kept), key=lambda e: (e[2].log_cost, e[0]))
        if len(self.objectives) >= 2:
            entries = thin(entries, MAX_FRONT)
        else:
            entries.sort(key=lambda e: (objective_values(e[2], objectives), e[0]))
        return [plan for _, plan, _ in entries]

    # --- recording -----------------------------------------------------------------------

    def record_results(
        self, solution: Solution, baseline: PlanEvaluation, notes: Sequence[str]
    ) -> None:
        """Add exact results (and always the baseline) to the caller's study as trials
        (nothing without one: no one would read them)."""
        if not self.keeps_study:
            return
        objectives = self.objectives
        if not solution.recorded:
            kind = "front" if len(objectives) >= 2 else "optimum"
            for plan in solution.plans:
                self._record(plan, self.evaluator.outcome(plan), kind)
        extra = {"notes": list(notes)} if notes else None
        self._record(baseline.plan, baseline.outcome, "baseline", extra)

    def _record(
        self, plan: Plan, outcome: PlanOutcome, kind: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        assert self.study is not None
        record(
            self.study,
            self.params,
            plan,
            outcome,
            objectives=self.objectives,
            constraints=self.constraints,
            kind=kind,
            extra={"feasible": meets(outcome, self.constraints), **(extra or {})},
            ratio=self.ratio,
        )
        self.reporter.recorded()  # not a trial the search evaluated: not counted
