"""The Optuna phase: what the exact searches leave over, searched with a seeded sampler.

The objective only plugs the evaluator into a trial: it suggests a plan through
:class:`~aalps.optimizer.plan_params.PlanParams`, scores it, reports its constraint values with
``trial.set_constraint`` (Optuna 5's replacement for ``constraints_func``) and returns the
objective values of :func:`~aalps.optimizer.study.objective_values`. The study is warm-started
with ``enqueue_trial`` (the best incumbent and greedy repairs), runs serially (a seeded
serial sampler reproduces its trials; ``n_jobs > 1`` would not) within ``n_trials`` and the
time left, and a callback reports progress and calls ``study.stop()`` when the caller asks
to stop, or, with one objective, after :data:`PATIENCE` trials in a row that did not improve
the best feasible plan (TPE rarely improves after that many; the exact phases before it
have usually settled the plan). The study is an in-memory one; the caller's stored study
gets its trials in batches (:mod:`aalps.optimizer.study_mirror`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import optuna
from aalps.cost_models.domain import Constraints, Objective, Plan
from aalps.cost_models.evaluation import PlanEvaluator, PlanOutcome
from aalps.optimizer.constraints import meets
from aalps.optimizer.plan_params import PlanParams
from aalps.optimizer.progress import Reporter
from aalps.optimizer.ray import objective_of
from aalps.optimizer.study import constraint_values, describe, figures, objective_values
from optuna.trial import TrialState

__all__ = ["PATIENCE", "RECORDED_KINDS", "OptunaSearch", "nsga2_sampler", "tpe_sampler"]

#: A single-objective search stops after this many trials without a better feasible plan.
PATIENCE = 100
#: Kinds (user attribute ``kind``) of the trials recorded after a search (the plan, its
#: baseline, a front): not search trials, so neither counted nor adopted on a resume.
RECORDED_KINDS = frozenset({"optimum", "baseline", "front"})


@dataclass
class OptunaSearch:
    """Runs trials on a study and remembers every plan it scored, by trial number."""

    evaluator: PlanEvaluator
    params: PlanParams
    study: optuna.Study
    objectives: Sequence[Objective]
    constraints: Constraints
    reporter: Reporter
    ratio: bool = False
    scored: dict[int, tuple[Plan, PlanOutcome]] = field(default_factory=dict)
    best: float = math.inf
    since_best: int = 0

    def objective(self, trial: optuna.Trial) -> float | list[float]:
        plan = self.params.suggest(trial)
        outcome = self.evaluator.outcome(plan)
        for key, value in constraint_values(outcome, self.constraints).items():
            trial.set_constraint(key, value)
        for key, value in figures(outcome).items():
            trial.set_user_attr(key, value)
        trial.set_user_attr("plan", describe(plan))
        self.scored[trial.number] = (plan, outcome)
        values = objective_values(outcome, self.objectives, ratio=self.ratio)
        return values[0] if len(values) == 1 else values

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        entry = self.scored.get(trial.number)
        self.since_best += 1
        if entry is not None and meets(entry[1], self.constraints):
            self.reporter.offer(entry[1].expected_cost)
            value = objective_of(entry[1], self.ratio)
            if value < self.best:
                self.best, self.since_best = value, 0
        self.reporter.trial_done()
        stale = len(self.objectives) <= 1 and self.since_best >= PATIENCE
        if stale or self.reporter.stop_requested() or self.reporter.out_of_time():
            study.stop()

    def adopt_earlier_trials(self) -> int:
        """Score the search trials the study already holds (a resumed job's earlier
        attempts), so that the plan returned is the best of every attempt, not only of this
        one; the number adopted. A trial whose parameters are not a plan of this search
        space (another request's study) is left out.
        """
        adopted = 0
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if trial.number in self.scored or trial.user_attrs.get("kind") in RECORDED_KINDS:
                continue
            try:
                plan = self.params.suggest(optuna.trial.FixedTrial(trial.params, trial.number))
            except (ValueError, KeyError, TypeError):
                continue
            outcome = self.evaluator.outcome(plan)
            self.scored[trial.number] = (plan, outcome)
            if meets(outcome, self.constraints):
                self.reporter.offer(outcome.expected_cost)
                self.best = min(self.best, objective_of(outcome, self.ratio))
            adopted += 1
        return adopted

    def run(self, n_trials: int, warm_starts: Sequence[Plan]) -> None:
        """Adopt the study's earlier trials, enqueue the warm starts (once each) and run up
        to ``n_trials`` trials."""
        self.adopt_earlier_trials()
        seen: set[str] = set()
        for plan in warm_starts:
            values, _ = self.params.encode(plan)
            key = repr(sorted(values.items()))
            if key in seen or len(seen) >= n_trials:
                continue
            seen.add(key)
            self.study.enqueue_trial(values, user_attrs={"kind": "warm start"})
        remaining = self.reporter.seconds_left()
        if n_trials <= 0 or (remaining is not None and remaining <= 0):
            return
        self.study.optimize(
            self.objective,
            n_trials=n_trials,
            timeout=remaining,
            callbacks=[self.after_trial],
            gc_after_trial=False,
            show_progress_bar=False,
        )

    def feasible(self) -> list[tuple[int, Plan, PlanOutcome]]:
        """The feasible plans scored, in trial order."""
        return [
            (number, plan, outcome)
            for number, (plan, outcome) in sorted(self.scored.items())
            if meets(outcome, self.constraints)
        ]

    def cheapest(self) -> tuple[Plan, PlanOutcome] | None:
        """The cheapest feasible plan scored (the earliest of equals)."""
        found = self.feasible()
        if not found:
            return None
        _, plan, outcome = min(found, key=lambda e: (objective_of(e[2], self.ratio), e[0]))
        return plan, outcome


def tpe_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """The constrained single-objective sampler (Optuna 5 TPE: multivariate by default)."""
    return optuna.samplers.TPESampler(seed=seed)


def nsga2_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """The multi-objective sampler (constraints come from ``trial.set_constraint``)."""
    return optuna.samplers.NSGAIISampler(seed=seed)
