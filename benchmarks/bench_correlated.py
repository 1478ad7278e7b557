"""Benchmark of correlated votes: what ρ costs the evaluator and the search (prints a table).

Run from the repository root::

    PYTHONPATH=. /work/venv/bin/python benchmarks/bench_correlated.py

Measured in one run, CPU seconds (``time.process_time``), each beside its independent-sample
counterpart so the ratio is of the same run:

* a 5-vote majority: the binomial sum vs the beta-binomial (Pólya urn) sum, per call;
* AHEAD_BY_K's per-step figures at one lead: the closed form vs the Beta quadrature, cold
  (nodes built, first call) and cached (what a search's repeated candidates cost);
* optimizing the built-in ``correlated_votes`` example at ρ = 0 and at ρ = 0.5, and an
  AHEAD_BY_K chain of 200 steps at ρ = 0 and ρ = 0.3 (the lead candidates walk the
  quadrature).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml
from aalps.client.examples import get_example
from aalps.cost_models.correlated_votes import ahead_by_k_correlated, correlated_majority_success
from aalps.cost_models.loading import load_request
from aalps.cost_models.stochastic import (
    ahead_by_k_expected_samples,
    ahead_by_k_step_success,
    majority_vote_success,
)
from aalps.optimizer.api import optimize


def _cpu(fn: Callable[[], Any], repeat: int = 1) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def _chain(rho: float) -> Any:
    return load_request(
        {
            "graph": {
                "name": "chain",
                "parameters": [{"name": "s", "value": 200}],
                "tasks": [
                    {
                        "id": "c",
                        "capability": "step",
                        "input_tokens": "s",
                        "steps": {"count": "s", "tokens": 8},
                    }
                ],
            },
            "catalog": {
                "models": [
                    {
                        "name": "w",
                        "size": 1,
                        "capabilities": {"step": 0.8},
                        "vote_correlation": rho,
                    },
                    {"name": "v", "size": 3, "capabilities": {"step": 0.95}},
                ]
            },
        }
    )


def main() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optimize(_chain(0.0))  # warm-up: imports and first-use compilation out of the figures
    rows: list[tuple[str, float, float]] = []
    n = 20_000
    rows.append(
        (
            "5-vote majority, per call",
            _cpu(lambda: majority_vote_success(0.7, 5), n),
            _cpu(lambda: correlated_majority_success(0.7, 5, 0.3), n),
        )
    )
    independent = _cpu(
        lambda: (ahead_by_k_step_success(0.7, 12), ahead_by_k_expected_samples(0.7, 12)), n
    )
    ahead_by_k_correlated.cache_clear()
    cold = _cpu(lambda: ahead_by_k_correlated(0.7, 0.3, 12))
    rows.append(("ahead-by-12 step figures, cold", independent, cold))
    rows.append(
        (
            "ahead-by-12 step figures, cached",
            independent,
            _cpu(lambda: ahead_by_k_correlated(0.7, 0.3, 12), n),
        )
    )
    data = yaml.safe_load(get_example("correlated_votes").read_text())
    zero = yaml.safe_load(get_example("correlated_votes").read_text())
    zero["catalog"]["models"][0]["vote_correlation"] = 0.0
    rows.append(
        (
            "optimize correlated_votes (ρ 0 vs 0.5)",
            _cpu(lambda: optimize(load_request(zero))),
            _cpu(lambda: optimize(load_request(data))),
        )
    )
    rows.append(
        (
            "optimize 200-step chain (ρ 0 vs 0.3)",
            _cpu(lambda: optimize(_chain(0.0))),
            _cpu(lambda: optimize(_chain(0.3))),
        )
    )
    print(f"{'what':42} {'independent (s)':>16} {'correlated (s)':>16} {'ratio':>8}")
    for what, a, b in rows:
        print(f"{what:42} {a:16.3g} {b:16.3g} {b / a if a else float('nan'):8.3g}")


if __name__ == "__main__":
    main()
