"""aalps against plain Optuna given ten times its CPU, where aalps is exact (prints a table).

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_plain_optuna.py [--factor 10]``.

Per request (coupled limits: latency-limited chains, fork-join graphs under three limits,
the quality section's random graphs under binding limits), ``optimize`` runs first; then
plain Optuna — TPE, NSGA-II and random sampling over the raw define-by-run space (every
operator, capable model, vote count and parameter per task), infeasible plans constrained
out — each gets ``factor`` times aalps' CPU seconds. Reported: aalps' method and whether it
proved its plan optimal, and per sampler the trials run and its best feasible cost over
aalps' (``-`` when it found no feasible plan). aalps' cost is the optimum wherever its gap
is 0; a sampler counts as optimal when it matches it to 1e-9.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import optuna
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize

from benchmarks.bench_optimizer import expected_cost, plain_optuna, table
from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.pareto_reference import fork_join_request_data
from tests.optimizer.random_requests import random_request

SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "TPE": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "NSGA-II": lambda seed: optuna.samplers.NSGAIISampler(seed=seed),
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}
THREE_LIMITS = ("max_latency", "max_cost", "min_success_probability")


def cases() -> list[tuple[str, Callable[[], OptimizeRequest]]]:
    out: list[tuple[str, Callable[[], OptimizeRequest]]] = [
        ("chain 40x20 latency", lambda: load_request(chain_request_data(1, 40, 20))),
        ("chain 60x20 latency", lambda: load_request(chain_request_data(2, 60, 20))),
        (
            "fork-join 40x8 3 limits",
            lambda: load_request(fork_join_request_data(102, 40, 8, THREE_LIMITS)[0]),
        ),
        (
            "fork-join 60x20 latency+cost",
            lambda: load_request(
                fork_join_request_data(100, 60, 20, ("max_latency", "max_cost"))[0]
            ),
        ),
    ]
    for seed in (1, 3, 5, 7):
        out.append((f"random graph {seed}", lambda s=seed: expected_cost(random_request(s))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=10.0, help="Optuna's CPU / aalps' (10)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    optimal = dict.fromkeys(SAMPLERS, 0)
    exact_cases = 0
    for label, make in cases():
        request = make()
        cpu = time.process_time()
        result = optimize(request)
        spent = time.process_time() - cpu
        cost = result.plan.outcome.expected_cost
        exact = result.stats.gap == 0.0
        exact_cases += exact
        row = [label, f"{spent:.2f}", result.stats.method, "yes" if exact else "no"]
        for name, make_sampler in SAMPLERS.items():
            run = plain_optuna(
                request, None, sampler=make_sampler(0), cpu_budget=args.factor * spent
            )
            if run.cost is None:
                row.append("-")
                continue
            hit = math.isclose(run.cost, cost, rel_tol=1e-9)
            optimal[name] += hit and exact
            row.append(f"{run.cost / cost:.3f}")
        rows.append(row)
        print(f"{label}: done", flush=True)
    print(
        f"\nPlain Optuna given {args.factor:g}x aalps' CPU seconds: its best feasible cost / aalps'"
    )
    print(table(("request", "aalps CPU s", "method", "exact", *SAMPLERS), rows))
    share = ", ".join(f"{n} {optimal[n]}/{exact_cases}" for n in SAMPLERS)
    print(f"optimal where aalps is exact: {share}")


if __name__ == "__main__":
    main()
