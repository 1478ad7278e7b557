"""CPU seconds of building the per-task candidate spaces alone (``build_spaces``).

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_spaces.py [--against TREE]``.

Builds the spaces of the separable wide requests (seed 1: 50 tasks x 20 models and 1,000
tasks x 10 models, and the same with a success constraint, where votes are tried) as
:func:`aalps.optimizer.optimize` does (the far point's figures when the cost grows), after
the evaluator is made. ``--against TREE`` runs the same measurement on another checkout
(``PYTHONPATH=TREE``, e.g. ``/work/main``) in the same run: each tree's builds in child
processes, the trees alternating; it prints both, their ratio, and whether both trees built
the same spaces (a digest of every candidate's plan and figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from typing import Any

CASES: tuple[tuple[str, int, int, float | None], ...] = (
    ("50 x 20", 50, 20, None),
    ("1000 x 10", 1000, 10, None),
    ("50 x 20, success >= 0.5", 50, 20, 0.5),
    ("300 x 10, success >= 0.5", 300, 10, 0.5),
)


def measure(repeats: int) -> dict[str, Any]:
    """Per case: the least CPU seconds of ``repeats`` builds, and the spaces' digest."""
    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.loading import load_request
    from aalps.optimizer.enumeration import build_spaces
    from aalps.optimizer.ray import FAR_SCALE, grows
    from aalps.optimizer.space import Metrics

    from tests.optimizer.random_requests import wide_request_data

    warm = load_request(wide_request_data(2, 20, 6))  # first-use costs outside the figures
    build_spaces(PlanEvaluator(warm), Metrics.of(warm))
    results: dict[str, Any] = {}
    for name, n_tasks, n_models, success in CASES:
        request = load_request(
            wide_request_data(1, n_tasks, n_models, min_success_probability=success)
        )
        best = float("inf")
        digest = ""
        for _ in range(repeats):
            evaluator = PlanEvaluator(request)
            far = evaluator.at(FAR_SCALE) if grows(request) else None
            metrics = Metrics.of(request, far=far is not None)
            started = time.process_time()
            spaces = build_spaces(evaluator, metrics, far=far)
            best = min(best, time.process_time() - started)
            assert spaces is not None
            digest = _digest(spaces)
        results[name] = {"cpu": best, "digest": digest}
    return results


def _digest(spaces: Any) -> str:
    """A digest of every space's candidates (plans and figures) and feasible choices."""
    h = hashlib.sha256()
    for space in spaces:
        h.update(repr((space.exact, sorted(space.problems.items()))).encode())
        for candidate in space.candidates:
            h.update(repr((candidate.plan, candidate.outcome, candidate.far)).encode())
        for operator, options in sorted(space.operators.items()):
            h.update(repr((operator, sorted(options.models.items()))).encode())
            h.update(repr([c.plan for c in space.by_operator[operator]]).encode())
    return h.hexdigest()[:16]


def _child(tree: str, repeats: int) -> dict[str, Any]:
    """:func:`measure` in a child process importing aalps from ``tree``."""
    from benchmarks.trees import child_json  # here, not at the top: the child imports ``tree``

    result: dict[str, Any] = child_json(__file__, tree, "--json", "--repeats", str(repeats))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout to measure in the same run")
    parser.add_argument("--repeats", type=int, default=2, help="builds per case (least kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.repeats)))
        return
    if not args.against:
        mine = measure(args.repeats)
        print(f"build_spaces: CPU s (least of {args.repeats} builds)")
        for name, figures in mine.items():
            print(f"  {name:<28} {figures['cpu']:7.3f}   spaces {figures['digest']}")
        return
    # Both trees in child processes, alternating, so that a busy machine weighs on both.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs: dict[str, list[dict[str, Any]]] = {here: [], args.against: []}
    for _ in range(args.repeats):
        for tree, results in runs.items():
            results.append(_child(tree, 1))
    print(f"build_spaces: CPU s (least of {args.repeats} builds, the trees alternating)")
    for name in runs[here][0]:
        mine = min(r[name]["cpu"] for r in runs[here])
        other = min(r[name]["cpu"] for r in runs[args.against])
        digests = {r[name]["digest"] for rs in runs.values() for r in rs}
        same = "same spaces" if len(digests) == 1 else "DIFFERENT SPACES"
        print(
            f"  {name:<28} this tree {mine:7.3f}   {args.against} {other:7.3f}   "
            f"x{other / mine:.2f} faster   {same}"
        )


if __name__ == "__main__":
    main()
