"""Optimizer benchmarks: quality against brute force, speed, and scaling (prints tables).

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_optimizer.py [--quick]``.

* Quality: seeded random graphs with binding coupling constraints (the test suite's
  generator): how often aalps returns the brute-force optimum and the mean cost ratio,
  beside plain Optuna (a default ``TPESampler``, no warm start, no exactness) over the same
  define-by-run space with the same trial budget.
* Speed: median wall time of a 50-task, 20-model request, separable and with a binding
  success constraint, beside plain Optuna's time to reach its best trial.
* Scaling: wall time against the number of tasks for separable requests.
* Totals: CPU seconds of the whole ``optimize`` (plan, bounds, baseline, crossovers) on
  1,000 tasks x 10 models and 50 tasks x 20 models, separable: first in this process, and
  warm (a fresh process, after one warm-up request).
* Coupled: latency-constrained chains (40 and 60 tasks x 20 models) and a 1,000-task success
  constraint, each run as dispatched now and along the previous path (branch and bound, then
  TPE: ``coupled_search.USE_DP`` off) in the same run: CPU seconds, ratio, methods.
* Batch: ``--batch-size`` small random workflows (the quality section's generator) through
  ``Client.in_process().batch``, one at a time in this process and in the pool of
  processes (one per core), in the same run: CPU seconds (this process and its children)
  and wall seconds.
* Analysis: CPU seconds of the analysis phase alone (baseline, crossovers, separation,
  stability ranges) on the totals' requests; with ``AALPS_BENCH_AGAINST=TREE`` also in
  ``TREE``'s code in the same run (``benchmarks/bench_analysis.py``).
* ``--timeout T``: the 200-task scaling request with ``search.timeout_seconds`` T: the wall
  time (the deadline counts from the first step) and what was skipped.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import optuna
from aalps.cost_models.domain import (
    Objective,
    Operator,
    OptimizeRequest,
    Plan,
    RoleAssignment,
    SearchObjective,
    TaskPlan,
)
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, applicable_operators
from aalps.cost_models.plan_checks import model_problem
from aalps.optimizer import Progress, coupled_search, optimize
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.exact import JointProblem
from aalps.optimizer.space import Metrics

from benchmarks.bench_analysis import SIZES
from benchmarks.bench_analysis import report as analysis_report
from benchmarks.bench_batch import batch
from benchmarks.tables import table
from tests.optimizer.brute_force import brute_force, feasible, input_size
from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.random_requests import random_request, wide_request_data


@dataclass(frozen=True)
class Run:
    """One method on one request: the cheapest feasible cost found and the wall times."""

    cost: float | None
    seconds: float
    seconds_to_best: float
    cpu_seconds: float = 0.0


def plain_optuna(
    request: OptimizeRequest,
    n_trials: int | None,
    seed: int = 0,
    sampler: optuna.samplers.BaseSampler | None = None,
    cpu_budget: float | None = None,
) -> Run:
    """Plain Optuna over the raw define-by-run space (default TPE unless ``sampler``);
    infeasible plans are constrained out. ``cpu_budget``: stop after that many CPU seconds."""
    evaluator = PlanEvaluator(request)
    votes_matter = (
        request.constraints.min_success_probability is not None
        or Objective.FAILURE_PROBABILITY in request.search.objectives
    )
    best: list[Any] = [None, 0.0]
    started = time.perf_counter()

    def objective(trial: optuna.Trial) -> float:
        tasks, capable = [], True
        for task in request.graph.tasks:
            ops = [str(op) for op in applicable_operators(task)]
            op = Operator(trial.suggest_categorical(f"{task.id}.operator", ops))
            spec = OPERATORS[op]
            roles = []
            for role in spec.roles(task):
                models = [
                    m.name for m in request.catalog.models if model_problem(role, m) is None
                ] or ["-"]
                name = f"{task.id}.{op}.{role.name}"
                model = trial.suggest_categorical(name, models)
                capable = capable and model != "-"
                votes = 1
                if votes_matter and role.votable:
                    votes = trial.suggest_int(f"{name}.votes", 1, 9, step=2)
                roles.append(RoleAssignment(role.name, model, votes))
            params = []
            for p in spec.params(task):
                high = (
                    min(p.high, max(1, math.ceil(input_size(request, task))))
                    if p.name == "chunk"
                    else p.high
                )
                params.append(
                    (p.name, trial.suggest_int(f"{task.id}.{op}.{p.name}", p.low, high, log=p.log))
                )
            tasks.append(TaskPlan(task.id, op, tuple(roles), tuple(params)))
        if not capable:
            trial.set_constraint("capability", 1.0)
            return 1e300
        outcome = evaluator.outcome(Plan(tuple(tasks)))
        ok = feasible(request, outcome) and outcome.window_violation is None
        trial.set_constraint("feasible", -1.0 if ok else 1.0)
        if ok and (best[0] is None or outcome.expected_cost < best[0]):
            best[0], best[1] = outcome.expected_cost, time.perf_counter() - started
        return outcome.log_cost

    study = optuna.create_study(sampler=sampler or optuna.samplers.TPESampler(seed=seed))
    cpu = time.process_time()

    def out_of_budget(study: optuna.Study, _: optuna.trial.FrozenTrial) -> None:
        if cpu_budget is not None and time.process_time() - cpu >= cpu_budget:
            study.stop()

    study.optimize(objective, n_trials=n_trials, callbacks=[out_of_budget])
    return Run(best[0], time.perf_counter() - started, best[1], time.process_time() - cpu)


def aalps(request: OptimizeRequest) -> Run:
    """optimize(), and when the plan was known (its first report of the final cost)."""
    marks: list[tuple[float, float | None]] = []
    started, cpu = time.perf_counter(), time.process_time()

    def progress(p: Progress) -> None:
        marks.append((time.perf_counter() - started, p.best_expected_cost))

    result = optimize(request, progress=progress)
    cost = result.plan.outcome.expected_cost
    known = next(t for t, b in marks if b is not None and b <= cost * (1 + 1e-12))
    return Run(cost, time.perf_counter() - started, known, time.process_time() - cpu)


def expected_cost(request: OptimizeRequest) -> OptimizeRequest:
    """The request minimizing the raw expected cost (what plain Optuna and the old default do)."""
    return replace(request, search=replace(request.search, objective=SearchObjective.EXPECTED_COST))


def quality(n_graphs: int, n_trials: int) -> None:
    rows: dict[str, list[tuple[float | None, float]]] = {"aalps": [], "plain Optuna TPE": []}
    optima: list[float] = []
    for i in range(n_graphs):
        request = expected_cost(random_request(2 * i + 1))  # odd seeds: binding constraints
        request = replace(request, search=replace(request.search, n_trials=n_trials))
        best = brute_force(request)
        assert best is not None
        optima.append(best[1].expected_cost)
        for name, method in (
            ("aalps", aalps),
            ("plain Optuna TPE", lambda r: plain_optuna(r, n_trials)),
        ):
            run = method(request)
            rows[name].append((run.cost, run.seconds))
    lines = []
    for name, runs in rows.items():
        found = [(c, o) for (c, _), o in zip(runs, optima, strict=True) if c is not None]
        optimal = sum(math.isclose(c, o, rel_tol=1e-9) for c, o in found)
        ratios = [c / o for c, o in found]
        lines.append(
            (
                name,
                f"{100 * optimal / n_graphs:.0f}%",
                f"{statistics.mean(ratios):.4f}" if ratios else "-",
                f"{max(ratios):.3f}" if ratios else "-",
                f"{100 * len(found) / n_graphs:.0f}%",
                f"{statistics.median(s for _, s in runs):.3f}",
            )
        )
    print(f"\nQuality: {n_graphs} random graphs with binding constraints, {n_trials} trials each")
    print(
        table(
            ("method", "optimal", "mean cost ratio", "worst ratio", "feasible found", "median s"),
            lines,
        )
    )


def coupled_wide(seed: int, n_tasks: int, n_models: int, position: float = 0.5) -> OptimizeRequest:
    """A wide request whose success target lies between the cheapest and the best plan's."""
    data = wide_request_data(seed, n_tasks, n_models, min_success_probability=1e-300)
    request = load_request(data)
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request))
    assert spaces is not None
    problem = JointProblem.of(evaluator, spaces, request.constraints)
    cheapest = math.prod(s[0] for s in problem.success)
    top = problem.best_success()
    data["constraints"]["min_success_probability"] = math.exp(
        math.log(cheapest) + position * (math.log(top) - math.log(cheapest))
    )
    return load_request(data)


def speed(repeats: int, n_trials: int) -> None:
    cases: list[tuple[str, Callable[[int], OptimizeRequest]]] = [
        ("separable", lambda seed: load_request(wide_request_data(seed, 50, 20))),
        (
            "separable, EXPECTED_COST",
            lambda s: expected_cost(load_request(wide_request_data(s, 50, 20))),
        ),
        ("coupled (success)", lambda seed: coupled_wide(seed, 50, 20)),
        ("coupled, EXPECTED_COST", lambda seed: expected_cost(coupled_wide(seed, 50, 20))),
    ]
    rows = []
    for name, make in cases:
        runs = [aalps(make(seed)) for seed in range(1, repeats + 1)]
        plain = plain_optuna(make(1), n_trials)
        ratio = "-" if plain.cost is None else f"{plain.cost / runs[0].cost:.3f}"  # type: ignore[operator]
        rows.append(
            (
                name,
                f"{statistics.median(r.seconds_to_best for r in runs):.2f}",
                f"{statistics.median(r.seconds for r in runs):.2f}",
                f"{statistics.median(r.cpu_seconds for r in runs):.2f}",
                f"{plain.seconds_to_best:.1f} / {plain.seconds:.1f}",
                ratio,
            )
        )
    print(
        f"\nSpeed: 50 tasks x 20 models, median of {repeats} seeds "
        f"(plain Optuna: seed 1, {n_trials} trials)"
    )
    print(
        table(
            (
                "request",
                "aalps plan s",
                "aalps total s",
                "aalps CPU s",
                "plain TPE best s / total s",
                "plain cost / aalps cost",
            ),
            rows,
        )
    )
    print(
        "(plan s: until the optimum is known; total s: with bounds, baseline, the asymptotic "
        "plan and crossovers; the default objective is the cost of a correct result)"
    )


def scaling(sizes: Sequence[int]) -> None:
    rows = []
    for n in sizes:
        run = aalps(load_request(wide_request_data(1, n, 20)))
        rows.append((n, f"{run.seconds_to_best:.2f}", f"{run.seconds:.2f}"))
    print("\nScaling: separable requests, 20 models")
    print(table(("tasks", "plan s", "total s"), rows))


def totals(sizes: Sequence[tuple[int, int]]) -> None:
    """CPU seconds of a whole optimize: first in this process (cold), and in a fresh
    process after one warm-up request of another seed (warm: what a long-running service
    or a batch pays per request once sympy's caches, the lambdified size functions and the
    lazy imports are in place)."""
    rows = []
    for n_tasks, n_models in sizes:
        run = aalps(load_request(wide_request_data(1, n_tasks, n_models)))
        rows.append([f"{n_tasks} x {n_models}", f"{run.cpu_seconds:.2f}", f"{run.seconds:.2f}"])
    # After the cold runs, not beside them: the two processes would share the cores.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        warm = pool.submit(_warm_totals, tuple(sizes)).result()
    for row, cpu in zip(rows, warm, strict=True):
        row.append(f"{cpu:.2f}")
    print("\nTotals: separable requests (seed 1), the whole optimize()")
    print(table(("tasks x models", "CPU s", "wall s", "CPU s warm"), rows))


def _warm_totals(sizes: tuple[tuple[int, int], ...]) -> list[float]:
    """The totals' CPU seconds in this (child) process after a 50 x 20 warm-up of seed 2."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optimize(load_request(wide_request_data(2, 50, 20)))
    return [aalps(load_request(wide_request_data(1, n, m))).cpu_seconds for n, m in sizes]


def previous_path(request: OptimizeRequest) -> tuple[Any, float]:
    """optimize() along the previous path: branch and bound, then TPE (no dynamic program)."""
    coupled_search.USE_DP = False
    try:
        cpu = time.process_time()
        result = optimize(request)
        return result, time.process_time() - cpu
    finally:
        coupled_search.USE_DP = True


def coupled(cases: Sequence[tuple[str, Callable[[], OptimizeRequest]]]) -> None:
    rows = []
    for label, make in cases:
        request = make()
        cpu = time.process_time()
        new = optimize(request)
        new_cpu = time.process_time() - cpu
        old, old_cpu = previous_path(request)
        ratio = old.plan.outcome.expected_cost / new.plan.outcome.expected_cost
        rows.append(
            (
                label,
                f"{new_cpu:.2f}",
                new.stats.method,
                f"{old_cpu:.2f}",
                old.stats.method,
                f"{old_cpu / max(new_cpu, 1e-9):.1f}x",
                f"{ratio:.4f}",
            )
        )
        print(f"{label}: done", flush=True)
    print("\nCoupled constraints: as dispatched now, and the previous path, in the same run")
    headers = (
        "request",
        "now CPU s",
        "now method",
        "previous CPU s",
        "previous method",
        "previous / now CPU",
        "previous / now cost",
    )
    print(table(headers, rows))


def coupled_cases(quick: bool) -> list[tuple[str, Callable[[], OptimizeRequest]]]:
    def chain(n_tasks: int) -> Callable[[], OptimizeRequest]:
        return lambda: load_request(chain_request_data(1, n_tasks, 20, integer=True))

    cases = [("chain 40 x 20, max_latency", chain(40)), ("chain 60 x 20, max_latency", chain(60))]
    if not quick:
        cases.append(("1,000 x 10, min_success_probability", lambda: coupled_wide(1, 1000, 10)))
    return cases


def deadline(timeout: float) -> None:
    request = load_request(wide_request_data(1, 200, 20))
    request = replace(request, search=replace(request.search, timeout_seconds=timeout))
    started = time.perf_counter()
    result = optimize(request)
    wall = time.perf_counter() - started
    print(f"\nDeadline: 200 x 20 with timeout {timeout:g} s: returned after {wall:.2f} s")
    print(f"method {result.stats.method}; skipped: {', '.join(result.stats.skipped) or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run (about a minute)")
    parser.add_argument("--timeout", type=float, help="only the deadline check, with T seconds")
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="requests of the batch section (1000)"
    )
    parser.add_argument(
        "--section",
        choices=("quality", "speed", "scaling", "totals", "coupled", "batch", "analysis"),
        help="only one section",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.timeout is not None:
        deadline(args.timeout)
        return
    sections: dict[str, Callable[[], None]] = {
        "quality": lambda: (
            quality(n_graphs=10, n_trials=100)
            if args.quick
            else quality(n_graphs=100, n_trials=200)
        ),
        "speed": lambda: speed(repeats=1, n_trials=30) if args.quick else speed(3, 100),
        "scaling": lambda: scaling((10, 50, 200) if args.quick else (10, 50, 200, 1000)),
        "totals": lambda: totals(((50, 20),) if args.quick else ((50, 20), (1000, 10))),
        "coupled": lambda: coupled(coupled_cases(args.quick)),
        "batch": lambda: batch(min(args.batch_size, 100) if args.quick else args.batch_size),
        # The analysis phase alone, here and in the main checkout (benchmarks/bench_analysis.py).
        "analysis": lambda: analysis_report(
            SIZES[:1] if args.quick else SIZES,
            os.environ.get("AALPS_BENCH_AGAINST"),
            1 if args.quick else 2,
        ),
    }
    for name, run in sections.items():
        if args.section in (None, name):
            run()


if __name__ == "__main__":
    main()
