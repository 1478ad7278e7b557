"""A test-only Pareto dynamic program over fork-join graphs, and their generator.

Written apart from ``optimizer/`` (it shares no code with ``coupled_dp`` or
``series_parallel``): the generator builds the series-parallel tree first and derives the
edges from it, so the reference never has to recover the decomposition. Each task's
choices are :func:`tests.optimizer.brute_force.task_choices` (every operator, capable
model, vote count and parameter); the program keeps, per part of the tree, every label
(cost, latency, log success) that no other label beats on all three, combining parts in
series (everything adds) and in parallel (costs and log successes add, the latency is the
larger). Labels that break a limit, or that cannot beat ``bound`` even if the rest of the
graph were free and certain, are dropped: the result is the exact optimum whenever it is
below ``bound``.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.evaluation import PlanEvaluator

from tests.optimizer.brute_force import ratio_objective, success_matters, task_choices
from tests.optimizer.chain_requests import chain_request_data, limit_between

#: A part of the tree: ``("task", i)``, ``("series", parts)`` or ``("parallel", parts)``.
Part = tuple[str, Any]
Label = tuple[float, float, float]  # cost, latency, log success


def fork_join_tree(rng: random.Random, n_tasks: int) -> Part:
    """A series of stages over tasks ``0..n_tasks-1``: single tasks and forks of 2–3
    branches, each branch a chain of 1–3 tasks (numbered in topological order)."""
    stages: list[Part] = []
    used = 0
    while used < n_tasks:
        left = n_tasks - used
        if left >= 2 and rng.random() < 0.45:
            branches: list[Part] = []
            for _ in range(rng.randint(2, 3)):
                length = min(rng.randint(1, 3), n_tasks - used)
                if length == 0:
                    break
                chain: list[Part] = [("task", used + i) for i in range(length)]
                used += length
                branches.append(chain[0] if length == 1 else ("series", chain))
            stages.append(branches[0] if len(branches) == 1 else ("parallel", branches))
        else:
            stages.append(("task", used))
            used += 1
    return ("series", stages)


def _ends(part: Part) -> tuple[list[int], list[int]]:
    """The tasks a part starts with and ends with."""
    kind, body = part
    if kind == "task":
        return [body], [body]
    if kind == "series":
        return _ends(body[0])[0], _ends(body[-1])[1]
    ends = [_ends(p) for p in body]
    return [t for e in ends for t in e[0]], [t for e in ends for t in e[1]]


def tree_edges(part: Part) -> list[tuple[int, int]]:
    """The edges a tree stands for: every end of a series step to every start of the next."""
    kind, body = part
    if kind == "task":
        return []
    edges = [e for p in body for e in tree_edges(p)]
    if kind == "series":
        for before, after in zip(body, body[1:], strict=False):
            edges += [(a, b) for a in _ends(before)[1] for b in _ends(after)[0]]
    return edges


def fork_join_request_data(
    seed: int,
    n_tasks: int,
    n_models: int,
    constraint: tuple[str, ...],
    objective: str = "EXPECTED_COST",
) -> tuple[dict[str, Any], Part]:
    """A fork-join request with binding limits (as :func:`chain_request_data` places them)."""
    rng = random.Random(seed)
    tree = fork_join_tree(rng, n_tasks)
    data = chain_request_data(seed, n_tasks, n_models, constraint=(), objective=objective)
    data["graph"]["name"] = f"fork-join {n_tasks}x{n_models}"
    data["graph"]["edges"] = [
        {"source": f"t{a}", "target": f"t{b}"} for a, b in sorted(tree_edges(tree))
    ]
    data["constraints"] = {
        name: limit_between(data, name, rng.uniform(0.2, 0.8)) for name in constraint
    }
    return data, tree


def _front(labels: Sequence[Label]) -> list[Label]:
    """The labels no other label beats or equals on cost, latency and log success.

    Swept in order of cost over a staircase of the kept labels' (latency, log success):
    latencies rising, log successes rising; a label is beaten when the kept label of the
    largest latency not above its own has a log success at least its own.
    """
    kept: list[Label] = []
    latencies: list[float] = []
    successes: list[float] = []
    for label in sorted(labels, key=lambda x: (x[0], x[1], -x[2])):
        _, latency, success = label
        at = bisect.bisect_right(latencies, latency)
        if at and successes[at - 1] >= success:
            continue
        kept.append(label)
        end = at
        while end < len(latencies) and successes[end] <= success:
            end += 1
        latencies[at:end] = [latency]
        successes[at:end] = [success]
    return kept


@dataclass(frozen=True)
class Reference:
    """The least objective (log space) of a feasible plan, or ``inf`` when none is below
    the bound, and how many labels the largest front held."""

    value: float
    largest_front: int


def reference_optimum(request: OptimizeRequest, tree: Part, bound: float) -> Reference:
    """The least objective of a feasible plan of ``request`` below ``bound`` (log space:
    log cost, or log(cost / success) for the cost of a correct result)."""
    evaluator = PlanEvaluator(request)
    c = request.constraints
    ratio = ratio_objective(request)
    votes = success_matters(request)
    max_latency = math.inf if c.max_latency is None else c.max_latency
    max_cost = math.inf if c.max_cost is None else c.max_cost
    min_log = -math.inf if not c.min_success_probability else math.log(c.min_success_probability)
    options: list[list[Label]] = []
    for task in request.graph.tasks:
        labels = []
        for _, o in task_choices(evaluator, task, votes=votes):
            latency = o.latency if c.max_latency is not None else 0.0
            log_success = o.log_success if (votes and o.success_probability > 0) else 0.0
            if o.success_probability == 0.0 and votes:
                continue  # never correct: no objective, no success target met
            labels.append((o.expected_cost, latency, log_success))
        options.append(_front(labels))
    cheapest = [min(label[0] for label in labels) for labels in options]
    total_cheapest = math.fsum(cheapest)
    largest = [0]

    def tasks_of(part: Part) -> list[int]:
        kind, body = part
        return [body] if kind == "task" else [t for p in body for t in tasks_of(p)]

    def keep(labels: list[Label], rest: float) -> list[Label]:
        """Within the limits, and able to beat ``bound`` with the rest at its cheapest."""
        out = []
        for cost, latency, log_success in labels:
            total = cost + rest
            value = math.log(total) - (log_success if ratio else 0.0) if total > 0 else -math.inf
            if latency <= max_latency and total <= max_cost and log_success >= min_log:
                if value <= bound:
                    out.append((cost, latency, log_success))
        front = _front(out)
        largest[0] = max(largest[0], len(front))
        return front

    def solve(part: Part) -> list[Label]:
        kind, body = part
        if kind == "task":
            return keep(options[body], total_cheapest - cheapest[body])
        labels = solve(body[0])
        covered = math.fsum(cheapest[t] for t in tasks_of(body[0]))
        for p in body[1:]:
            other = solve(p)
            covered += math.fsum(cheapest[t] for t in tasks_of(p))
            if kind == "series":
                joined = [(a[0] + b[0], a[1] + b[1], a[2] + b[2]) for a in labels for b in other]
            else:
                joined = [
                    (a[0] + b[0], max(a[1], b[1]), a[2] + b[2]) for a in labels for b in other
                ]
            labels = keep(joined, total_cheapest - covered)
        return labels

    root = solve(tree)
    values = [math.log(x[0]) - (x[2] if ratio else 0.0) for x in root if x[0] > 0]
    return Reference(min(values, default=math.inf), largest[0])
