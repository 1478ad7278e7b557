"""Coupled constraints on long chains: the Pareto dynamic program against the previous path.

Run ``PYTHONPATH=. /work/venv/bin/python benchmarks/bench_coupled.py``.

For each request (a chain of tasks over 20 models, ``max_latency`` binding), ``optimize`` runs
twice in the same process: as it dispatches now (branch and bound's first round, then the
dynamic program), and along the previous path (``coupled_search.USE_DP`` off: branch and
bound on its full node budget, then Optuna's TPE warm-started). Printed: CPU seconds of
each, their ratio, the method that produced each plan, and how far the previous path's plan
is above the new one (the objective: expected cost, or the cost of a correct result).
"""

from __future__ import annotations

import argparse
import math
import time

import aalps.optimizer.coupled_search
import optuna
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.result import OptimizeResult

from benchmarks.tables import table
from tests.optimizer.chain_requests import chain_request_data

#: (label, seed, tasks, models, integer latencies, objective)
CASES = (
    ("40-task chain x 20 models, real latencies", 1, 40, 20, False, "EXPECTED_COST"),
    ("60-task chain x 20 models, integer latencies", 1, 60, 20, True, "EXPECTED_COST"),
    ("40-task chain x 20 models, integer latencies", 2, 40, 20, True, "EXPECTED_COST"),
    ("40-task chain x 20 models, cost of a correct result", 1, 40, 20, False, "COST_OF_PASS"),
)


def objective(result: OptimizeResult, request: OptimizeRequest) -> float:
    outcome = result.plan.outcome
    if request.search.objective.name == "COST_OF_PASS":
        return outcome.expected_cost / outcome.success_probability
    return outcome.expected_cost


def timed(request: OptimizeRequest, *, use_dp: bool) -> tuple[OptimizeResult, float]:
    aalps.optimizer.coupled_search.USE_DP = use_dp
    try:
        started = time.process_time()
        result = optimize(request)
        return result, time.process_time() - started
    finally:
        aalps.optimizer.coupled_search.USE_DP = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the first two cases only")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    for label, seed, n_tasks, n_models, integer, goal in CASES[: 2 if args.quick else None]:
        data = chain_request_data(seed, n_tasks, n_models, integer=integer, objective=goal)
        request = load_request(data)
        new, new_cpu = timed(request, use_dp=True)
        old, old_cpu = timed(request, use_dp=False)
        best = objective(new, request)
        gap = objective(old, request) / best - 1.0
        rows.append(
            [
                label,
                f"{new_cpu:.2f}",
                new.stats.method,
                f"{old_cpu:.2f}",
                old.stats.method,
                f"{old_cpu / max(new_cpu, 1e-9):.1f}x",
                f"{100 * gap:+.2f}%" if math.isfinite(gap) else "-",
            ]
        )
        print(f"{label}: done", flush=True)
    print()
    print(table(HEADERS, rows))


HEADERS = (
    "request",
    "new CPU s",
    "new method",
    "previous CPU s",
    "previous method",
    "speed-up",
    "previous above new",
)


if __name__ == "__main__":
    main()
