"""Benchmark of the cost core: scoring candidate plans and deriving bounds (prints a table).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_cost_core.py [--quick]

What is measured, on seeded random task graphs of 10 and 50 tasks with mixed structure
facts (blocks, routing, defects, acceptance with and without an LLM verifier, chunkable
with and without an LLM aggregator, steps) and a random DAG of edges:

* **score a candidate plan** with :class:`~aalps.cost_models.evaluation.PlanEvaluator` (built
  once per graph): candidates are drawn at random from each task's applicable operators ×
  feasible models × votes × parameters.

  - *cold*: every task choice of the candidate is new to the evaluator (the operator's
    formula runs on floats for each task);
  - *warm*: the same candidates again (every task choice is a cache hit);
  - *stream*: a search-like stream of random candidates (a mix of both).

  Beside it, the naive way measured in the same run: build the candidate's sympy cost
  expression (the per-task expressions are cached as well, so *warm* naive is only the
  substitution) and substitute the scale point with ``.subs(...)`` + ``evalf``.

* **derive the bound** of a 50-task plan with :func:`~aalps.cost_models.bounds.derive_bound`
  (via ``PlanEvaluator.bound_of``), beside ``sympy.simplify`` of the cost and
  ``sympy.O(cost, *[(s, oo) for s in growing])``, each in a child process that is killed
  after a timeout (reported as "timed out").

Targets (DESIGN §6): ≤ 100 µs to score a 50-task candidate, ≤ 200 ms to derive its bound.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import sympy
from aalps.cost_models.domain import Operator, OptimizeRequest, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, applicable_operators
from aalps.cost_models.plan_checks import model_problem

CAPABILITIES = ("solve", "identify", "detect", "fix", "verify", "combine")
CHUNKS = (64, 256, 1024)
AHEAD = (1, 2, 3, 4)
VOTES = (1, 3)


# ---------------------------------------------------------------------- random graphs


def random_request(tasks: int, seed: int) -> OptimizeRequest:
    """A graph of ``tasks`` tasks with mixed facts, a random DAG and a six-model catalog."""
    rng = random.Random(seed)
    parameters = [
        {"name": "k", "value": 40},
        {"name": "l", "value": 300},
        {"name": "b", "value": 6},
        {"name": "q", "value": 200},
        {"name": "c", "value": 16, "grows": False},
        {"name": "n", "expr": "k*l"},
    ]
    sizes = ("n", "2*n", "k*l/2", "l*b", "n + l")
    graph_tasks = []
    for i in range(tasks):
        task: dict[str, Any] = {
            "id": f"t{i}",
            "capability": "solve",
            "input_tokens": rng.choice(sizes),
            "output_tokens": rng.choice(("1", "l", "k", "16")),
            "prompt_tokens": rng.choice(("0", "50", "300")),
        }
        if rng.random() < 0.5:
            task["blocks"] = {"count": "k", "size": "l", "output": rng.choice(("l", "1", "8"))}
        if rng.random() < 0.3:
            task["routing"] = {"tokens": "c", "capability": "identify"}
        if rng.random() < 0.3:
            task["defects"] = {"count": "b", "report_tokens": rng.choice(("0", "20"))}
            task["role_capabilities"] = {"detector": "detect", "fixer": "fix"}
        if rng.random() < 0.3:
            task["acceptance"] = {"success_probability": rng.choice(("0.5", "0.8", "0.95"))}
            if rng.random() < 0.5:
                task["acceptance"]["verifier"] = "verify"
        if rng.random() < 0.3:
            task["chunkable"] = {"aggregate_tokens": rng.choice(("4", "chunk/8 + 1"))}
            if rng.random() < 0.5:
                task["chunkable"]["aggregator"] = "combine"
        if rng.random() < 0.2:
            task["steps"] = {"count": "q", "tokens": "l", "output": "1"}
        graph_tasks.append(task)
    edges = [
        {"source": f"t{i}", "target": f"t{j}"}
        for j in range(tasks)
        for i in range(max(0, j - 4), j)
        if rng.random() < 0.25
    ]
    models: list[dict[str, Any]] = []
    model_caps: list[dict[str, float]] = []
    for index, (size, price_in, price_out) in enumerate(
        [
            (1e9, 1e-7, 4e-7),
            (3e9, 2e-7, 8e-7),
            (8e9, 5e-7, 2e-6),
            (3e10, 2e-6, 6e-6),
            (7e10, 5e-6, 1.5e-5),
            (4e11, 1.5e-5, 6e-5),
        ]
    ):
        caps = {cap: round(rng.uniform(0.8, 1.0), 3) for cap in CAPABILITIES if rng.random() < 0.7}
        caps.setdefault(CAPABILITIES[index % len(CAPABILITIES)], 0.9)
        model_caps.append(caps)
        models.append(
            {
                "name": f"m{index}",
                "size": repr(size),
                "capabilities": caps,
                "price_per_input_token": price_in,
                "price_per_output_token": price_out,
            }
        )
    for cap in CAPABILITIES:  # every capability has at least two models
        lacking = [caps for caps in model_caps if cap not in caps]
        for caps in lacking[: max(0, 2 - (len(model_caps) - len(lacking)))]:
            caps[cap] = 0.85
    data = {
        "graph": {
            "name": f"random-{tasks}-{seed}",
            "parameters": parameters,
            "assumptions": ["b <= k"],
            "tasks": graph_tasks,
            "edges": edges,
        },
        "catalog": {"models": models},
    }
    return load_request(data)


@dataclass
class CandidateDrawer:
    """Draws random candidate plans from the applicable operators × feasible models."""

    evaluator: PlanEvaluator
    rng: random.Random

    def __post_init__(self) -> None:
        graph = self.evaluator.graph
        self.choices: dict[str, list[tuple[Operator, list[tuple[str, list[str], bool]]]]] = {}
        for task in graph.tasks:
            options = []
            for op in applicable_operators(task):
                roles = []
                for spec in OPERATORS[op].roles(task):
                    feasible = [
                        m.name
                        for m in self.evaluator.catalog.models
                        if model_problem(spec, m) is None
                    ]
                    roles.append((spec.name, feasible, spec.votable))
                if all(feasible for _, feasible, _ in roles):
                    options.append((op, roles))
            self.choices[task.id] = options

    def task_plan(self, task_id: str) -> TaskPlan:
        op, roles = self.rng.choice(self.choices[task_id])
        assigned = tuple(
            RoleAssignment(
                name, self.rng.choice(feasible), self.rng.choice(VOTES) if votable else 1
            )
            for name, feasible, votable in roles
        )
        params: tuple[tuple[str, int], ...] = ()
        if op is Operator.CHUNK_AGGREGATE:
            params = (("chunk", self.rng.choice(CHUNKS)),)
        elif op is Operator.AHEAD_BY_K:
            params = (("ahead", self.rng.choice(AHEAD)),)
        return TaskPlan(task_id, op, assigned, params)

    def plan(self) -> Plan:
        return Plan(tuple(self.task_plan(t.id) for t in self.evaluator.graph.tasks))


# ---------------------------------------------------------------------- timing


def _time(fn: Callable[[], Any], repeat: int = 1) -> float:
    """Seconds per call, averaged over ``repeat`` back-to-back calls (timer noise amortized)."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def scale_point(request: OptimizeRequest) -> dict[sympy.Symbol, sympy.Expr]:
    point: dict[sympy.Symbol, sympy.Expr] = {
        s: sympy.Rational(repr(v)) for s, v in request.graph.values.items()
    }
    for model in request.catalog.models:
        if model.size.is_Symbol:
            point[model.size] = sympy.Rational(repr(model.size_value))
    return point


@dataclass
class Row:
    what: str
    aalps: float
    naive: float | None
    note: str = ""


def bench_scoring(tasks: int, seed: int, cold_samples: int, naive_samples: int) -> list[Row]:
    request = random_request(tasks, seed)
    rng = random.Random(seed + 1)
    point = scale_point(request)
    med = statistics.median

    # Cold and warm: a fresh evaluator (built untimed) sees a candidate for the first time,
    # then the same candidate again. Naive: the candidate's sympy cost, then
    # .subs(scale point).evalf(); cold builds every task's expression, warm reuses them.
    cold, warm, naive_cold, naive_warm = [], [], [], []
    for sample in range(cold_samples):
        evaluator = PlanEvaluator(request)
        plan = CandidateDrawer(evaluator, rng).plan()
        score = partial(evaluator.outcome, plan)
        cold.append(_time(score))
        warm.append(_time(score, repeat=20))
        if sample < naive_samples:
            symbolic = PlanEvaluator(request)

            def naive(symbolic: PlanEvaluator = symbolic, plan: Plan = plan) -> float:
                return float(symbolic.plan_cost(plan).subs(point).evalf())

            naive_cold.append(_time(naive))
            naive_warm.append(_time(naive))
            exact, fast = naive(), evaluator.outcome(plan).expected_cost
            assert abs(exact - fast) <= 1e-9 * abs(exact), (exact, fast)  # both ways agree

    # A search-like stream on one long-lived evaluator: cached and new task choices mixed.
    evaluator = PlanEvaluator(request)
    drawer = CandidateDrawer(evaluator, rng)
    stream = [drawer.plan() for _ in range(2000)]
    stream_times = [_time(partial(evaluator.outcome, plan)) for plan in stream]
    hits = len({tp for plan in stream for tp in plan.tasks})

    return [
        Row(
            f"score {tasks}-task candidate, cold (n={len(cold)})",
            med(cold),
            med(naive_cold),
            f"every task choice new; naive n={len(naive_cold)} builds the sympy cost too",
        ),
        Row(
            f"score {tasks}-task candidate, warm (n={len(warm)})",
            med(warm),
            med(naive_warm),
            "every task choice cached; naive: cached expressions, subs/evalf only",
        ),
        Row(
            f"score {tasks}-task candidate, stream (n={len(stream)})",
            med(stream_times),
            None,
            f"random search stream: {hits} distinct task choices in "
            f"{len(stream) * tasks} task evaluations",
        ),
    ]


def _child(task: str, expr: sympy.Expr, growing: list[sympy.Symbol], queue: Any) -> None:
    start = time.perf_counter()
    if task == "simplify":
        sympy.simplify(expr)
    else:
        sympy.O(expr, *[(s, sympy.oo) for s in growing])
    queue.put(time.perf_counter() - start)


def _timed_in_child(
    task: str, expr: sympy.Expr, growing: list[sympy.Symbol], timeout: float
) -> float | None:
    """Seconds ``task`` took in a forked child (which inherits ``expr``), None on timeout."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(task, expr, growing, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return queue.get() if not queue.empty() else None


def bench_bound(tasks: int, seed: int, timeout: float) -> list[Row]:
    request = random_request(tasks, seed)
    evaluator = PlanEvaluator(request)
    plan = CandidateDrawer(evaluator, random.Random(seed + 7)).plan()
    build = _time(lambda: evaluator.plan_cost(plan))
    cost = evaluator.plan_cost(plan).xreplace(request.graph.substitutions)
    terms = len(sympy.Add.make_args(sympy.expand(cost)))
    bound_times = []
    for _ in range(5):
        bound_times.append(_time(lambda: evaluator.bound_of(evaluator.plan_cost(plan))))
    bound = evaluator.bound_of(evaluator.plan_cost(plan))
    growing = sorted(request.graph.growing & cost.free_symbols, key=str)
    simplify = _timed_in_child("simplify", cost, growing, timeout)
    order = _timed_in_child("order", cost, growing, timeout)
    aalps = statistics.median(bound_times)
    text = bound.text if len(bound.text) < 70 else bound.text[:67] + "..."
    return [
        Row(
            f"symbolic cost of a {tasks}-task plan (first build)",
            build,
            None,
            f"{terms} terms after expansion",
        ),
        Row(f"bound of a {tasks}-task plan vs sympy.simplify", aalps, simplify, f"Θ({text})"),
        Row(f"bound of a {tasks}-task plan vs sympy.O(..., (s, oo)...)", aalps, order, ""),
    ]


def _fmt(seconds: float | None, timeout: float) -> str:
    if seconds is None:
        return f"timed out (>{timeout:g} s)"
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, 5 s timeout")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    cold, naive, timeout = (60, 20, args.timeout) if not args.quick else (15, 5, 5.0)

    rows: list[Row] = []
    for tasks in (10, 50):
        rows += bench_scoring(tasks, args.seed + tasks, cold, naive)
    rows += bench_bound(50, args.seed + 50, timeout)

    print(f"aalps cost core benchmark (python {sys.version.split()[0]}, sympy {sympy.__version__})")
    width = max(len(r.what) for r in rows)
    print(f"{'measurement (median)':<{width}}  {'aalps':>12}  {'naive':>22}  {'naive/aalps':>11}")
    for r in rows:
        ratio = "" if r.naive is None else f"{r.naive / r.aalps:11.0f}x"
        if r.naive is None and "vs" in r.what:
            ratio = f"  >{timeout / r.aalps:8.0f}x"
        naive_text = "" if r.naive is None and "vs" not in r.what else _fmt(r.naive, timeout)
        print(f"{r.what:<{width}}  {_fmt(r.aalps, timeout):>12}  {naive_text:>22}  {ratio:>11}")
        if r.note:
            print(f"{'':<{width}}    {r.note}")
    print("targets: ≤ 100 µs per 50-task candidate (warm and cold), ≤ 200 ms per 50-task bound")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
