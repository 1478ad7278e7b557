"""CPU seconds of the symbolic side alone (costs, Θ bounds, separations), here and in another tree.

Run ``PYTHONPATH=. python -m benchmarks.bench_symbolic [--against /tmp/old] [--repeat 2]
[--quick]``.

The plans are those one ``optimize`` of each request evaluates symbolically: the chosen
plan, the baseline, the asymptotic plan, the crossovers' plans. They are found once, by a
child process of this tree (not timed), and pickled; then each tree times, in a fresh child
process (cold caches: sympy's and the evaluator's), a new
:class:`~aalps.cost_models.evaluation.PlanEvaluator` evaluating every plan
(:meth:`evaluate`: cost, numeric figures and Θ bound) and the separation of the baseline
from the chosen plan, with the numeric figures computed beforehand (not timed). Workloads:
``wide_request_data(1, 1000, 10)`` and ``(1, 50, 20)``, and a batch of
``random_request_data`` seeds 1-100 evaluated one after the other in one process (as a
batch service does). Each tree also prints a digest of ``sympy.srepr`` of every cost,
bound and separation, so the table says whether the two trees agree exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKLOADS = ("1000 x 10", "50 x 20", "batch of 100")


def _requests(workload: str) -> list[dict[str, Any]]:
    from tests.optimizer.random_requests import random_request_data, wide_request_data

    if workload == "batch of 100":
        return [random_request_data(seed) for seed in range(1, 101)]
    n_tasks, n_models = (int(x) for x in workload.split(" x "))
    return [wide_request_data(1, n_tasks, n_models)]


def collect(workloads: list[str], path: str) -> None:
    """Pickle, per workload, each request's data and the plans its optimize evaluates."""
    import optuna
    from aalps.cost_models.loading import load_request
    from aalps.optimizer import optimize

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    found: dict[str, list[tuple[dict[str, Any], list[Any]]]] = {}
    for workload in workloads:
        found[workload] = []
        for data in _requests(workload):
            result = optimize(load_request(data))
            plans = [result.plan.plan]
            if result.baseline is not None:
                plans.append(result.baseline.plan)
            if result.asymptotic_plan is not None:
                plans.append(result.asymptotic_plan.plan)
            plans += [c.plan.plan for c in result.crossovers]
            found[workload].append((data, list(dict.fromkeys(plans))))
    with open(path, "wb") as f:
        pickle.dump(found, f)


def measure(path: str) -> dict[str, dict[str, Any]]:
    """Per workload: CPU seconds of the symbolic side and the digest of its results."""
    import sympy
    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.loading import load_request

    sys.set_int_max_str_digits(0)  # srepr of exact costs with huge rationals
    with open(path, "rb") as f:
        found = pickle.load(f)
    rows = {}
    for workload, items in found.items():
        spent = 0.0
        digest = hashlib.sha256()
        for data, plans in items:
            evaluator = PlanEvaluator(load_request(data))
            for plan in plans:
                for task_plan in plan.tasks:
                    evaluator.task_outcome(task_plan)  # numeric: not timed
            started = time.process_time()
            evaluations = [evaluator.evaluate(plan) for plan in plans]
            baseline = evaluations[1] if len(evaluations) > 1 else evaluations[0]
            try:
                separation = evaluator.separation(baseline, evaluations[0])
            except ValueError:
                separation = []
            spent += time.process_time() - started
            for e in evaluations:
                digest.update(sympy.srepr(e.cost).encode())
                digest.update(sympy.srepr(e.bound.expr).encode())
                for monomial, group in e.bound.groups.items():
                    digest.update(f"{sympy.srepr(monomial)}:{sympy.srepr(group)}".encode())
            for s in separation:
                digest.update(f"{s.role}:{sympy.srepr(s.expr)}".encode())
        rows[workload] = {"cpu": spent, "digest": digest.hexdigest()[:16]}
    return rows


def _child(tree: str, *args: str) -> str:
    from benchmarks.trees import child_output  # here: the child imports ``tree``

    return child_output(__file__, tree, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another tree to measure in the same run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per tree (least shown)")
    parser.add_argument("--quick", action="store_true", help="50 x 20 and the batch only")
    parser.add_argument("--collect", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.collect:
        collect(json.loads(args.collect[: args.collect.index("@")]), args.collect.split("@")[1])
        return
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    workloads = list(WORKLOADS[1:] if args.quick else WORKLOADS)
    here = str(Path(__file__).resolve().parents[1])
    trees = [here, *([str(Path(args.against).resolve())] if args.against else [])]
    with tempfile.TemporaryDirectory() as tmp:
        plans = str(Path(tmp) / "plans.pkl")
        _child(here, "--collect", json.dumps(workloads) + "@" + plans)
        runs: dict[str, list[dict[str, dict[str, Any]]]] = {tree: [] for tree in trees}
        for _ in range(max(1, args.repeat)):
            for tree in trees:
                runs[tree].append(json.loads(_child(tree, "--measure", plans).splitlines()[-1]))
    print(f"Symbolic side: CPU s, least of {max(1, args.repeat)} alternating fresh processes")
    header = f"{'workload':>14}  {'here':>7}"
    if args.against:
        header += f"  {args.against:>12}  ratio  same results"
    print(header)
    for workload in workloads:
        mine = min(r[workload]["cpu"] for r in runs[here])
        line = f"{workload:>14}  {mine:7.3f}"
        if args.against:
            theirs_runs = runs[trees[1]]
            theirs = min(r[workload]["cpu"] for r in theirs_runs)
            same = runs[here][0][workload]["digest"] == theirs_runs[0][workload]["digest"]
            line += f"  {theirs:12.3f}  {theirs / mine:5.2f}  {same}"
        print(line)


if __name__ == "__main__":
    main()
