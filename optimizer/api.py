"""The optimizer's entry points: :func:`optimize` a request, :func:`analyze_plan` a given plan.

:func:`optimize` enumerates each task's feasible choices (:mod:`aalps.optimizer.enumeration`; a
task without any ends the run with an :class:`~aalps.cost_models.errors.InfeasibleError`),
searches their joint product with the cheapest exact method the request's structure allows
(:mod:`aalps.optimizer.joint_search`), records the results in the caller's Optuna study
when there is one, and derives the baseline, the separation and the crossovers from the
chosen plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna
from aalps.cost_models.bounds import Separation
from aalps.cost_models.domain import Objective, OptimizeRequest, Plan, RankBy
from aalps.cost_models.evaluation import PlanEvaluation, PlanEvaluator
from aalps.optimizer.baseline import baseline_from_spaces, baseline_plan
from aalps.optimizer.break_even import break_even
from aalps.optimizer.collection_pause import fewer_collections
from aalps.optimizer.crossover import find_crossovers
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.joint_search import JointSearch, Solution
from aalps.optimizer.progress import Reporter
from aalps.optimizer.ray import FAR_SCALE, grows
from aalps.optimizer.result import (
    AnalysisResult,
    Crossover,
    OptimizeResult,
    Progress,
    SearchCancelled,
    SearchStats,
)
from aalps.optimizer.space import Metrics, TaskSpace
from aalps.optimizer.stability import StabilityRange, stability_ranges
from aalps.optimizer.study import create_study

if TYPE_CHECKING:
    from aalps.optimizer.study_mirror import WriteFence

__all__ = ["EVALUATION_RESERVE", "analyze_plan", "logger", "optimize"]

logger = logging.getLogger(__name__)

#: Seconds per task kept back from building the spaces under ``search.timeout_seconds``
#: (at most half of it): the stand-in spaces of the tasks left, the search, and the plan's
#: and the baseline's symbolic evaluation, which no deadline can skip.
EVALUATION_RESERVE = 0.005


def optimize(
    request: OptimizeRequest,
    *,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    study_fence: WriteFence | None = None,
    analysis: bool = True,
) -> OptimizeResult:
    """The cheapest feasible plan of ``request`` (or its Pareto front), with its analysis.

    Parameters
    ----------
    request
        A validated request (:func:`aalps.cost_models.loading.load_request`).
    progress
        Called with a :class:`Progress` at the start, on every improvement and trial, and
        at the end.
    should_stop
        Polled during the search; once it returns True the search stops and returns the
        best plan found so far (``stats.exhaustive`` False).
    storage, study_name
        Where the Optuna study lives; an existing study of that name is continued. The
        search runs on an in-memory study whose trials are copied there in one transaction
        at checkpoints and at the end (:mod:`aalps.optimizer.study_mirror`). Without
        ``storage`` no study is kept: a search that runs trials makes an in-memory one of
        its own, and the results are recorded nowhere.
    study_fence
        Run inside each copy's transaction: a false answer (a job whose lease another
        replica has claimed) drops that copy and every later one.
    analysis
        False: the plan (or front) alone, as a what-if needs it: no baseline (None), no
        separation, crossovers, stability ranges or asymptotic plan (unless the request
        ranks by it), and no results recorded in the study. The search is the same.

    Raises
    ------
    InfeasibleError
        when no plan is feasible: a reason per task without any feasible choice, or per
        coupling constraint no plan meets.
    SearchCancelled
        when ``should_stop`` turned true before any feasible plan was known.
    """
    reporter = Reporter(progress, should_stop, request.search.timeout_seconds)
    objectives = request.search.objectives
    # The search's seeded sampler is set when it runs trials (JointSearch._search).
    study = None
    mirror = None
    if storage is not None:
        # Imported here: SQLAlchemy and Optuna's RDB models cost an embedded run ~0.2 s.
        from aalps.optimizer.study_mirror import StudyMirror

        study = create_study(objectives=objectives, storage=None, study_name=None)
        stored = create_study(objectives=objectives, storage=storage, study_name=study_name)
        mirror = StudyMirror(study, stored, study_fence)
        reporter.on_trial = mirror.checkpoint
    try:
        with fewer_collections():
            # The evaluator (every figure the search worked out) is made here and dropped
            # with ``_optimize``'s frame, before the collector's thresholds come back: else
            # the first collection after them walks all of it, just before it is freed.
            return _optimize(request, reporter, PlanEvaluator(request), study, analysis=analysis)
    finally:
        if mirror is not None:
            mirror.sync()


def _optimize(
    request: OptimizeRequest,
    reporter: Reporter,
    evaluator: PlanEvaluator,
    study: optuna.Study | None,
    *,
    analysis: bool,
) -> OptimizeResult:
    """:func:`optimize` on the working (in-memory) study, if the caller keeps one."""
    objectives = request.search.objectives
    multi = len(objectives) >= 2
    reporter.report()
    if reporter.stop_requested():
        raise SearchCancelled("stopped before the search began")
    single = not objectives or objectives == (Objective.COST,)
    # Far figures rank plans asymptotically; a Pareto front has no asymptotic plan.
    far = evaluator.at(FAR_SCALE) if single and grows(request) else None
    metrics = Metrics.of(request, far=far is not None)
    spaces = build_spaces(
        evaluator,
        metrics,
        far=far,
        should_stop=reporter.stop_requested,
        deadline=reporter.reserving(EVALUATION_RESERVE * len(request.graph.tasks)),
    )
    if spaces is None:
        raise SearchCancelled("stopped while the search space was being built")
    skipped: list[str] = []
    quick = sum(not s.exact for s in spaces)
    if quick:
        skipped.append(f"full search spaces of {quick} tasks (DIRECT only)")
    run = JointSearch(request, evaluator, spaces, study, reporter)
    solution = run.cheapest() if single else run.front()
    plan = evaluator.evaluate(solution.plans[0])
    # Past the deadline the extras (asymptotic plan, crossovers) are skipped: the plan stands.
    ranks_far = request.search.rank_by is RankBy.ASYMPTOTIC
    late = reporter.out_of_time() and not ranks_far
    if single and late and far is not None and analysis:
        skipped.append("asymptotic plan")
    wanted = single and not late and (analysis or ranks_far)
    asymptotic = _asymptotic(evaluator, run, solution) if wanted else None
    ranked_far = ranks_far and asymptotic is not None
    if ranked_far:
        assert asymptotic is not None
        plan, asymptotic = asymptotic, None
    # The plan heads the front: evaluated (symbolically) once.
    front = (plan, *(evaluator.evaluate(p) for p in solution.plans[1:])) if multi else ()
    extras = (
        _analysis(
            reporter,
            evaluator,
            run,
            solution,
            spaces,
            plan,
            asymptotic,
            skipped,
            stability=single and not ranked_far,
            far=far is not None,
        )
        if analysis
        else _Analysis()
    )
    trials = reporter.trials_done  # evaluated by the search; recorded plans do not count
    n_trials = request.search.n_trials
    reason = reporter.stop_reason if trials < n_trials else ""
    if trials < n_trials and not reason:
        reason = f"{solution.method} found the plan" + (" (all scored)" if solution.exact else "")
    stats = SearchStats(
        trials=trials,
        n_trials=n_trials,
        stop_reason=reason,
        exhaustive=solution.exact,
        seconds=reporter.elapsed(),
        candidates=sum(s.scored for s in spaces),
        method=str(solution.method),
        gap=solution.gap,
        skipped=tuple(skipped),
    )
    setup = None
    if single and analysis and not reporter.out_of_time():
        setup = break_even(request, lambda r: _cheapest(r, reporter))
    for item in skipped:
        logger.info("past search.timeout_seconds: skipped %s", item)
    reporter.offer(plan.outcome.expected_cost)
    reporter.report()
    return OptimizeResult(
        plan=plan,
        baseline=extras.baseline,
        separation=extras.separation,
        pareto_front=front,
        crossovers=extras.crossovers,
        stats=stats,
        asymptotic_plan=asymptotic,
        stability=extras.stability,
        setup=setup,
    )


@dataclass(frozen=True)
class _Analysis:
    """What :func:`optimize` derives from the plan after the search (none of it without
    ``analysis``)."""

    baseline: PlanEvaluation | None = None
    separation: tuple[Separation, ...] = ()
    crossovers: tuple[Crossover, ...] = ()
    stability: tuple[StabilityRange, ...] = ()


def _analysis(
    reporter: Reporter,
    evaluator: PlanEvaluator,
    run: JointSearch,
    solution: Solution,
    spaces: Sequence[TaskSpace],
    plan: PlanEvaluation,
    asymptotic: PlanEvaluation | None,
    skipped: list[str],
    *,
    stability: bool,
    far: bool,
) -> _Analysis:
    """The baseline (recorded with the results in the caller's study), separation,
    crossovers and stability ranges of the chosen ``plan``; what the deadline cuts is added
    to ``skipped``."""
    baseline, notes = baseline_from_spaces(spaces)
    baseline_evaluation = evaluator.evaluate(baseline)
    for note in notes:
        logger.info("baseline: %s", note)
    if not reporter.stop_requested():
        # A stopped search (cancel, shutdown, lease lost) records nothing: a resume then
        # sees only search trials, as the uninterrupted search did.
        run.record_results(solution, baseline_evaluation, notes)
    crossovers: tuple[Crossover, ...] = ()
    if reporter.out_of_time():
        if far:
            skipped.append("crossovers")
    else:
        crossovers, complete = find_crossovers(
            evaluator,
            plan,
            run.problem,
            run.selection_of(plan.plan),
            asymptotic,
            ratio=run.ratio,
            deadline=reporter.deadline,
        )
        if not complete:
            skipped.append("crossovers (some challengers)")
    separation: tuple[Separation, ...] = ()
    if reporter.out_of_time():
        skipped.append("separation")
    else:
        separation = _separation(evaluator, baseline_evaluation, plan)
    ranges: tuple[StabilityRange, ...] = ()
    if stability:
        if reporter.out_of_time():
            skipped.append("stability ranges")
        else:
            ranges = stability_ranges(evaluator, plan.plan, spaces, ratio=run.ratio)
    return _Analysis(baseline_evaluation, separation, crossovers, ranges)


def _cheapest(request: OptimizeRequest, parent: Reporter) -> PlanEvaluation:
    """The best plan of ``request`` by the plain search, with no extras and no record (the
    break-even's plans with and without setups); stops when ``parent`` is stopped."""
    evaluator = PlanEvaluator(request)
    reporter = Reporter(None, parent.stop_requested, request.search.timeout_seconds)
    spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
    if spaces is None:
        raise SearchCancelled("stopped while the search space was being built")
    solution = JointSearch(request, evaluator, spaces, None, reporter).cheapest()
    return evaluator.evaluate(solution.plans[0])


def _asymptotic(
    evaluator: PlanEvaluator, run: JointSearch, solution: Solution
) -> PlanEvaluation | None:
    """The asymptotically optimal plan when it differs from the solution's, else None."""
    selection = run.asymptotic(solution)
    if selection is None:
        return None
    plan = run.problem.plan(selection)
    if plan == solution.plans[0]:
        return None
    return evaluator.evaluate(plan)


def analyze_plan(
    request: OptimizeRequest, plan: Plan, baseline: Plan | None = None
) -> AnalysisResult:
    """Cost, bound and separation of a caller's plan, without any search.

    Raises
    ------
    InvalidRequestError
        naming every problem of ``plan`` (fields ``plan.…``) or ``baseline`` (``baseline.…``).
    InfeasibleError
        when ``baseline`` is not given and some task has no feasible baseline.
    """
    evaluator = PlanEvaluator(request)
    evaluator.validate_plan(plan)
    if baseline is None:
        baseline = baseline_plan(evaluator)
    else:
        evaluator.validate_plan(baseline, field="baseline")
    evaluation = evaluator.evaluate(plan)
    baseline_evaluation = evaluator.evaluate(baseline)
    return AnalysisResult(
        evaluation, baseline_evaluation, _separation(evaluator, baseline_evaluation, evaluation)
    )


def _separation(
    evaluator: PlanEvaluator, baseline: PlanEvaluation, plan: PlanEvaluation
) -> tuple[Separation, ...]:
    try:
        return tuple(evaluator.separation(baseline, plan))
    except ValueError:  # a plan whose bound is 0 (free calls) has no separation
        return ()
