"""What the stability ranges add to an optimize (issue 12): a same-run ratio.

Run ``PYTHONPATH=. /work/venv/bin/python benchmarks/bench_stability.py [--n 80]``.

Optimizes ``n`` seeded random workflows (the test suite's generator; ten others first, to
warm the imports and caches) and the examples, timing each whole ``optimize`` and, inside
it, :func:`~aalps.optimizer.stability.stability_ranges` (CPU seconds of this process).
Prints the stability time over the rest of the optimize: the share the ranges add.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import optuna
import yaml
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.loading import load_request
from aalps.optimizer import api

from tests.optimizer.random_requests import random_request_data

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80, help="random workflows (default 80)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spent = [0.0]
    ranges = api.stability_ranges

    def timed(*positional: Any, **named: Any) -> Any:
        started = time.process_time()
        try:
            return ranges(*positional, **named)
        finally:
            spent[0] += time.process_time() - started

    api.stability_ranges = timed  # type: ignore[assignment]

    def draw(seeds: range) -> list[OptimizeRequest]:
        return [load_request(random_request_data(s, max_joint=2_000)) for s in seeds]

    for request in draw(range(1000, 1010)):
        api.optimize(request)
    groups = {
        f"{args.n} random workflows": draw(range(args.n)),
        "the examples": [
            load_request(yaml.safe_load(p.read_text())) for p in sorted(EXAMPLES.glob("*.yaml"))
        ],
    }
    for name, requests in groups.items():
        spent[0] = 0.0
        started = time.process_time()
        for request in requests:
            api.optimize(request)
        total = time.process_time() - started
        rest = total - spent[0]
        print(
            f"{name}: optimize CPU {total:.2f} s, of which stability ranges {spent[0]:.2f} s: "
            f"+{spent[0] / rest:.1%} over the rest"
        )


if __name__ == "__main__":
    main()
