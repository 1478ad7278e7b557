"""Seeded chains and small series-parallel graphs with coupling constraints.

The shapes the coupled Pareto dynamic program (:mod:`aalps.optimizer.coupled_dp`) is built
for: ``n_tasks`` tasks in a chain (each task reads its predecessor's output), or a few
series-parallel diamonds, over ``n_models`` models with random sizes, reliabilities and
latencies. With ``integer`` every model's ``latency_per_token`` is a whole number and every
token count is too, so every task's latency is an integer (what a knapsack over latencies
needs); otherwise latencies are real. The constraint is placed between the fastest plan's
figure and the cheapest plan's, so that it binds.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["chain_request_data", "limit_between", "series_parallel_edges"]

CAPABILITIES = ("solve", "write")


def _model(rng: random.Random, index: int, integer: bool) -> dict[str, Any]:
    """A model on a rough price/speed trade-off: larger ones cost more and run faster."""
    scale = rng.uniform(1.0, 100.0)
    speed = 30.0 / scale**0.5 * rng.uniform(0.7, 1.3)
    return {
        "name": f"m{index}",
        "size": round(scale * 10**9),
        "capabilities": {c: rng.choice((0.8, 0.9, 0.95, 0.99, 1.0)) for c in CAPABILITIES},
        "latency_per_token": max(1, round(speed)) if integer else round(speed, 6),
    }


def series_parallel_edges(rng: random.Random, n_tasks: int) -> list[tuple[int, int]]:
    """Edges of a random series-parallel DAG on tasks ``0..n_tasks-1`` (topological order).

    Built by splitting: start from one edge, and repeatedly either subdivide a task's
    outgoing step (series) or add a parallel sibling task between the same neighbours.
    """
    # Tasks as nodes; every task beyond the first two is inserted in series after a task
    # (taking over its successors) or in parallel beside one (same predecessors and
    # successors).
    preds: list[set[int]] = [set()]
    succs: list[set[int]] = [set()]
    for new in range(1, n_tasks):
        preds.append(set())
        succs.append(set())
        other = rng.randrange(new)
        if rng.random() < 0.5:  # series: new runs after `other`, before its successors
            for s in succs[other]:
                preds[s].discard(other)
                preds[s].add(new)
            succs[new], succs[other] = succs[other], {new}
            preds[new] = {other}
        else:  # parallel: new beside `other`
            preds[new] = set(preds[other])
            succs[new] = set(succs[other])
            for p in preds[new]:
                succs[p].add(new)
            for s in succs[new]:
                preds[s].add(new)
    # Renumber topologically so that edges go from lower to higher indices.
    order: list[int] = []
    indegree = [len(p) for p in preds]
    ready = [i for i in range(n_tasks) if indegree[i] == 0]
    while ready:
        i = ready.pop(0)
        order.append(i)
        for s in sorted(succs[i]):
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    rank = {task: position for position, task in enumerate(order)}
    return sorted((rank[p], rank[s]) for s in range(n_tasks) for p in preds[s])


def chain_request_data(
    seed: int,
    n_tasks: int,
    n_models: int,
    *,
    integer: bool = True,
    constraint: str | tuple[str, ...] = "max_latency",
    objective: str = "EXPECTED_COST",
    shape: str = "chain",
    position: float | None = None,
) -> dict[str, Any]:
    """A request whose DAG is a chain (or a series-parallel graph) with binding limits.

    ``constraint`` names one or more of ``max_latency``, ``max_cost`` and
    ``min_success_probability``; each limit lies ``position`` (random in [0.2, 0.8] by
    default) of the way from the fastest (or most reliable) plan's figure to the cheapest
    plan's. The figures are estimated from each task's one-call DIRECT plans, so a limit may
    in rare draws be out of reach; a negative ``position`` puts it beyond reach on purpose.
    """
    rng = random.Random(seed)
    models = [_model(rng, i, integer) for i in range(n_models)]
    tasks = [
        {
            "id": f"t{i}",
            "capability": rng.choice(CAPABILITIES),
            "input_tokens": str(rng.randint(2, 40)),
            "output_tokens": str(rng.randint(1, 8)),
        }
        for i in range(n_tasks)
    ]
    if shape == "chain":
        pairs = [(i, i + 1) for i in range(n_tasks - 1)]
    else:
        pairs = series_parallel_edges(rng, n_tasks)
    edges = [{"source": f"t{a}", "target": f"t{b}"} for a, b in pairs]
    data: dict[str, Any] = {
        "graph": {"name": f"{shape} {n_tasks}x{n_models}", "tasks": tasks, "edges": edges},
        "catalog": {"models": models},
        "cost_model": "FORWARD_PASS",
        "search": {"seed": seed, "objective": objective},
    }
    names = (constraint,) if isinstance(constraint, str) else constraint
    data["constraints"] = {
        name: limit_between(data, name, rng.uniform(0.2, 0.8) if position is None else position)
        for name in names
    }
    return data


def limit_between(data: dict[str, Any], constraint: str, u: float) -> float:
    """A limit ``u`` of the way from the best achievable figure to the cheapest plan's."""
    from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.loading import load_request

    request = load_request({k: v for k, v in data.items() if k != "constraints"})
    evaluator = PlanEvaluator(request)
    options = []
    for task in request.graph.tasks:
        outcomes = []
        for model in request.catalog.models:
            plan = TaskPlan(task.id, Operator.DIRECT, (RoleAssignment("worker", model.name, 1),))
            outcomes.append((plan, evaluator.task_outcome(plan)))
        options.append(outcomes)

    def plan_of(key: Any) -> Plan:
        return Plan(tuple(min(o, key=key)[0] for o in options))

    cheapest = evaluator.outcome(plan_of(lambda x: x[1].expected_cost))
    fastest = evaluator.outcome(plan_of(lambda x: (x[1].latency, x[1].expected_cost)))
    if constraint == "max_latency":
        best = fastest.latency
        return best + u * (cheapest.latency - best) if u >= 0 else best * (1 + u)
    if constraint == "min_success_probability":
        best = evaluator.outcome(plan_of(lambda x: -x[1].success_probability)).success_probability
        if u < 0:
            return min(1.0, best ** (1 + u))
        return float(best ** (1 - u) * cheapest.success_probability**u)
    if u < 0:
        return cheapest.expected_cost * (1 + u)
    return cheapest.expected_cost + (1 - u) * (fastest.expected_cost - cheapest.expected_cost)
