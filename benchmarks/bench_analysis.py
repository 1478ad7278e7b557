"""CPU seconds of ``optimize``'s analysis phase alone (issue 10), here and in another tree.

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_analysis.py [--against /work/main]``
(or ``bench_optimizer.py --section analysis``).

The analysis phase is :func:`aalps.optimizer.api._analysis`: the baseline's evaluation,
the crossovers, the separation and the stability ranges of the chosen plan, after the
search. It is timed (``time.process_time``) by wrapping that function, on the totals
section's separable requests (seed 1): 50 tasks x 20 models and 1,000 x 10. With
``--against TREE`` the same measurement runs in a child process importing ``TREE``'s code
(``PYTHONPATH=TREE``) in the same run, and the table gives both and their ratio; the
results (plan cost, crossover scales, stability ranges) are compared too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

SIZES = ((50, 20), (1000, 10))


def measure(sizes: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """Per size: the analysis phase's and the whole optimize's CPU seconds, and a digest
    of the results (to check that two trees agree)."""
    import optuna
    from aalps.cost_models.loading import load_request
    from aalps.optimizer import api, optimize

    from tests.optimizer.random_requests import wide_request_data

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inner = api._analysis
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent.append(time.process_time() - started)

    api._analysis = timed  # type: ignore[assignment]
    rows = []
    try:
        for n_tasks, n_models in sizes:
            request = load_request(wide_request_data(1, n_tasks, n_models))
            spent.clear()
            started = time.process_time()
            result = optimize(request)
            total = time.process_time() - started
            digest = {
                "cost": repr(result.plan.outcome.expected_cost),
                "bound": str(result.plan.bound),
                "baseline": repr(result.baseline.outcome.expected_cost) if result.baseline else "",
                "crossovers": [(c.text, repr(c.scale)) for c in result.crossovers],
                "stability": [repr(s) for s in result.stability],
                "separation": [str(s) for s in result.separation],
            }
            rows.append(
                {
                    "size": f"{n_tasks} x {n_models}",
                    "analysis": sum(spent),
                    "total": total,
                    "digest": json.loads(json.dumps(digest)),
                }
            )
    finally:
        api._analysis = inner  # type: ignore[assignment]
    return rows


def in_tree(tree: str, sizes: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """:func:`measure` in a child process importing ``tree``'s code."""
    env = dict(os.environ, PYTHONPATH=tree)
    spec = json.dumps([list(s) for s in sizes])
    out = subprocess.run(
        [sys.executable, __file__, "--child", spec],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows: list[dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
    return rows


def report(sizes: Sequence[tuple[int, int]], against: str | None) -> None:
    here = measure(sizes)
    print("\nAnalysis phase: separable requests (seed 1), CPU s of _analysis / of optimize()")
    if against is None:
        for row in here:
            print(f"{row['size']:>10}: analysis {row['analysis']:.2f}  total {row['total']:.2f}")
        return
    there = in_tree(against, sizes)
    print(f"{'size':>10}  {'here':>14}  {against + ' (same run)':>24}  ratio  same results")
    for mine, theirs in zip(here, there, strict=True):
        ratio = theirs["analysis"] / mine["analysis"] if mine["analysis"] > 0 else float("inf")
        same = mine["digest"] == theirs["digest"]
        print(
            f"{mine['size']:>10}  {mine['analysis']:6.2f} / {mine['total']:5.2f}  "
            f"{theirs['analysis']:14.2f} / {theirs['total']:6.2f}  {ratio:5.2f}  {same}"
        )
        if not same:
            for key, value in mine["digest"].items():
                if theirs["digest"][key] != value:
                    print(f"    differs: {key}: {value!r} vs {theirs['digest'][key]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another tree to measure in the same run")
    parser.add_argument("--quick", action="store_true", help="50 x 20 only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        sizes = [tuple(s) for s in json.loads(args.child)]
        print(json.dumps(measure(sizes)))  # type: ignore[arg-type]
        return
    report(SIZES[:1] if args.quick else SIZES, args.against)


if __name__ == "__main__":
    main()
