"""CPU seconds of ``optimize``'s crossover search alone, here and in another tree.

Run ``python -m benchmarks.bench_crossovers [--against /tmp/old] [--repeat 2]``.

:func:`aalps.optimizer.crossover.find_crossovers` is timed (``time.process_time``) where
:func:`aalps.optimizer.api._analysis` calls it, on wide requests (seed 1): 50 tasks x 20
models, 200 x 10 and 1,000 x 10 (``--quick``: the first two). The stability ranges, which
run after it, are skipped to save time (they do not touch the crossovers). With
``--against TREE`` the same measurement runs in a child process importing ``TREE``'s code
in the same run, alternating with this tree's, and the table gives both, their ratio,
whether every crossover field (plan, figures, bound, parameter, value, scale, values,
text) is equal and whether the texts are (the scales printed to three digits);
``--repeat R`` shows the least of R runs per tree (other load only adds).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SIZES = ((50, 20), (200, 10), (1000, 10))


def measure(sizes: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """Per size: the crossover search's CPU seconds and every crossover's fields as text."""
    import optuna
    from aalps.cost_models.loading import load_request
    from aalps.optimizer import api, optimize

    from tests.optimizer.random_requests import wide_request_data

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inner, stability = api.find_crossovers, api.stability_ranges
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent.append(time.process_time() - started)

    api.find_crossovers = timed  # type: ignore[assignment]
    api.stability_ranges = lambda *args, **kwargs: ()  # type: ignore[assignment]
    rows = []
    try:
        for n_tasks, n_models in sizes:
            request = load_request(wide_request_data(1, n_tasks, n_models))
            spent.clear()
            result = optimize(request)
            crossovers = [
                [
                    repr(c.plan.plan),
                    repr(c.plan.outcome),
                    str(c.plan.bound),
                    c.parameter,
                    repr(c.at),
                    repr(c.scale),
                    repr(dict(c.values)),
                    c.text,
                ]
                for c in result.crossovers
            ]
            rows.append(
                {"size": f"{n_tasks} x {n_models}", "cpu": sum(spent), "crossovers": crossovers}
            )
    finally:
        api.find_crossovers, api.stability_ranges = inner, stability  # type: ignore[assignment]
    return rows


def in_tree(tree: str, sizes: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """:func:`measure` in a child process importing ``tree``'s code."""
    from benchmarks.trees import child_json  # here, not at the top: the child imports ``tree``

    spec = json.dumps([list(s) for s in sizes])
    rows: list[dict[str, Any]] = child_json(__file__, tree, "--child", spec)
    return rows


def report(sizes: Sequence[tuple[int, int]], against: str | None, repeat: int) -> None:
    """Print the crossover search's CPU seconds here (and in ``against``, same run)."""
    here = str(Path(__file__).resolve().parents[1])
    trees = [here, *([against] if against else [])]
    runs: dict[str, list[list[dict[str, Any]]]] = {t: [] for t in trees}
    for _ in range(max(1, repeat)):
        for tree in trees:
            runs[tree].append(in_tree(tree, sizes))
    least = {t: _least(found) for t, found in runs.items()}
    print(f"\nCrossover search, wide requests (seed 1): CPU s, least of {max(1, repeat)} runs")
    if against is None:
        for row in least[here]:
            print(f"{row['size']:>10}: {row['cpu']:.3f}  ({len(row['crossovers'])} crossovers)")
        return
    print(f"{'size':>10}  {'here':>7}  {'against':>7}  ratio  crossovers  identical  text")
    for mine, theirs in zip(least[here], least[against], strict=True):
        ratio = theirs["cpu"] / mine["cpu"] if mine["cpu"] > 0 else float("inf")
        same = mine["crossovers"] == theirs["crossovers"]
        text = [c[-1] for c in mine["crossovers"]] == [c[-1] for c in theirs["crossovers"]]
        print(
            f"{mine['size']:>10}  {mine['cpu']:7.3f}  {theirs['cpu']:7.3f}  {ratio:5.2f}  "
            f"{len(mine['crossovers']):>10}  {same!s:>9}  {text}"
        )


def _least(found: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per size, the least CPU seconds of the runs (their crossovers must agree)."""
    rows = []
    for same_size in zip(*found, strict=True):
        first = dict(same_size[0])
        assert all(r["crossovers"] == first["crossovers"] for r in same_size), "runs disagree"
        first["cpu"] = min(r["cpu"] for r in same_size)
        rows.append(first)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--against", help="another tree to measure in the same run")
    parser.add_argument("--quick", action="store_true", help="50 x 20 and 200 x 10 only")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tree (least shown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        sizes = [tuple(s) for s in json.loads(args.child)]
        print(json.dumps(measure(sizes)))  # type: ignore[arg-type]
        return
    report(SIZES[:2] if args.quick else SIZES, args.against, args.repeat)


if __name__ == "__main__":
    main()
