"""CPU seconds of building the per-task candidate spaces alone (``build_spaces``).

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_spaces.py [--against TREE]``.

Builds the spaces of the separable wide requests (seed 1: 50 tasks x 20 models and 1,000
tasks x 10 models, and the same with a success constraint, where votes are tried) as
:func:`aalps.optimizer.optimize` does (the far point's figures when the cost grows), after
the evaluator is made. ``--against TREE`` runs the same measurement on another checkout
(``PYTHONPATH=TREE``, e.g. ``/work/main``) in a child process of the same run, prints both
and their ratio, and checks that both trees built the same spaces (a digest of every
candidate's plan and figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout to measure in the same run")
    parser.add_argument("--repeats", type=int, default=2, help="builds per case (least kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.repeats)))
        return
    mine = measure(args.repeats)
    other = None
    if args.against:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": f"{args.against}{os.pathsep}{here}"}
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--json", "--repeats", str(args.repeats)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=args.against,
        ).stdout
        other = json.loads(out.strip().splitlines()[-1])
    print("build_spaces: CPU s (least of", args.repeats, "builds)")
    for name in mine:
        line = f"  {name:<28} this tree {mine[name]['cpu']:7.3f}"
        if other is not None:
            same = "same spaces" if other[name]["digest"] == mine[name]["digest"] else "DIFFERENT"
            ratio = other[name]["cpu"] / mine[name]["cpu"]
            line += f"   {args.against} {other[name]['cpu']:7.3f}   x{ratio:.2f} faster   {same}"
        print(line)


if __name__ == "__main__":
    main()
