"""CPU seconds of ``optimize``'s analysis phase alone (issue 10), here and in another tree.

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_analysis.py [--against /work/main]
[--repeat 3]`` (or ``bench_optimizer.py --section analysis``, ``AALPS_BENCH_AGAINST=TREE``).

The analysis phase is :func:`aalps.optimizer.api._analysis`: the baseline's evaluation,
the crossovers, the separation and the stability ranges of the chosen plan, after the
search. It is timed (``time.process_time``) by wrapping that function, on the totals
section's separable requests (seed 1): 50 tasks x 20 models and 1,000 x 10. With
``--against TREE`` the same measurement runs in a child process importing ``TREE``'s code
(``PYTHONPATH=TREE``) in the same run, and the table gives both and their ratio; the
results (plan cost, crossover scales, stability ranges) are compared too. ``--repeat R``
runs each tree R times in child processes, alternating, and shows the least figures: on a
shared machine a lone run's CPU seconds vary by a quarter.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
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
    from benchmarks.trees import child_json  # here, not at the top: the child imports ``tree``

    spec = json.dumps([list(s) for s in sizes])
    rows: list[dict[str, Any]] = child_json(__file__, tree, "--child", spec)
    return rows


def report(sizes: Sequence[tuple[int, int]], against: str | None, repeat: int = 1) -> None:
    """Print the analysis phase's CPU seconds here (and in ``against``): with ``repeat``
    above 1, each tree runs that many times in child processes, alternating, and the least
    figure of each is shown (the machine's other load only ever adds)."""
    print("\nAnalysis phase: separable requests (seed 1), CPU s of _analysis / of optimize()")
    if against is None and repeat <= 1:
        for row in measure(sizes):
            print(f"{row['size']:>10}: analysis {row['analysis']:.2f}  total {row['total']:.2f}")
        return
    here_tree = str(Path(__file__).resolve().parents[1])
    runs: dict[str, list[list[dict[str, Any]]]] = {
        here_tree: [],
        **({against: []} if against else {}),
    }
    for _ in range(max(1, repeat)):
        for tree, found in runs.items():
            found.append(in_tree(tree, sizes))
    best = {tree: _least(found) for tree, found in runs.items()}
    here = best[here_tree]
    if against is None:
        for row in here:
            print(f"{row['size']:>10}: analysis {row['analysis']:.2f}  total {row['total']:.2f}")
        return
    there = best[against]
    print(f"least of {max(1, repeat)} alternating runs per tree")
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


def _least(found: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per size, the least analysis and total CPU seconds of the runs (digests must agree)."""
    rows = []
    for same_size in zip(*found, strict=True):
        first = dict(same_size[0])
        assert all(r["digest"] == first["digest"] for r in same_size), "runs disagree"
        first["analysis"] = min(r["analysis"] for r in same_size)
        first["total"] = min(r["total"] for r in same_size)
        rows.append(first)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another tree to measure in the same run")
    parser.add_argument("--quick", action="store_true", help="50 x 20 only")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tree (least shown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        sizes = [tuple(s) for s in json.loads(args.child)]
        print(json.dumps(measure(sizes)))  # type: ignore[arg-type]
        return
    report(SIZES[:1] if args.quick else SIZES, args.against, args.repeat)


if __name__ == "__main__":
    main()
