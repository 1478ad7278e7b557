"""Benchmark of CASCADE's exact enumeration (issue 14): what scoring every cascade costs.

Run from the repository root::

    PYTHONPATH=. /work/venv/bin/python benchmarks/bench_cascade.py

One task, a PRICED catalog of ``M`` models with stage rates (M = 4, 6, 8, 10) and
``max_stages`` 2, 3 and 4: the CPU seconds of ``optimize`` (exact search, the whole
analysis) with the cascade fact, beside the same request without it (DIRECT only) in the
same run, and the number of candidates scored. The ratio is what CASCADE adds.
"""

from __future__ import annotations

import random
import time
from typing import Any

from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize


def request(models: int, stages: int | None, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    catalog = []
    for i in range(models):
        price = 0.1 * 3**i * rng.uniform(0.8, 1.2)
        catalog.append(
            {
                "name": f"m{i}",
                "size": i + 1,
                "price_per_input_token": price,
                "price_per_output_token": 4 * price,
                "capabilities": {"classify": min(0.99, 0.6 + 0.04 * i)},
                "cascade": {
                    "classify": {
                        "accept_rate": round(rng.uniform(0.2, 0.8), 3),
                        "accepted_accuracy": round(rng.uniform(0.9, 0.99), 3),
                    }
                },
            }
        )
    task: dict[str, Any] = {
        "id": "t",
        "capability": "classify",
        "input_tokens": "n",
        "output_tokens": 3,
    }
    if stages is not None:
        task["cascade"] = {"max_stages": stages}
    return {
        "graph": {"parameters": [{"name": "n", "value": 500}], "tasks": [task]},
        "catalog": {"models": catalog},
        "cost_model": "PRICED",
    }


def cpu(data: dict[str, Any]) -> tuple[float, int]:
    start = time.process_time()
    result = optimize(load_request(data))
    return time.process_time() - start, result.stats.candidates


def main() -> None:
    head = ("models", "stages", "candidates", "cascade s", "direct s", "ratio")
    print("{:>6} {:>6} {:>10} {:>10} {:>9} {:>6}".format(*head))
    cpu(request(4, 3))  # warm-up: imports and first-call caches out of the figures
    for models in (4, 6, 8, 10):
        base, _ = cpu(request(models, None))
        for stages in (2, 3, 4):
            seconds, candidates = cpu(request(models, stages))
            print(
                f"{models:>6} {stages:>6} {candidates:>10} {seconds:>10.3f} {base:>9.3f}"
                f" {seconds / base:>6.1f}"
            )


if __name__ == "__main__":
    main()
