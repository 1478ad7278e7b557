"""The series-parallel structure of a task DAG, for the coupled dynamic program.

Tasks carry the latency, so the DAG (transitively reduced: an implied edge never sets the
critical path) is first turned into a two-terminal graph whose edges carry it: task ``i``
becomes an edge ``in_i → out_i``; a dependency ``p → i`` an empty edge ``out_p → in_i``,
except that tasks waiting for the same two or more tasks wait at one junction vertex that
those tasks feed (a series composition joins every end of one part to every start of the
next); a source S feeds every task without predecessors and every task without successors
feeds a sink T. Series reductions (a vertex with one edge in and one out) and
parallel reductions (edges with the same ends) then shrink the graph; it is series-parallel
when one edge S → T is left (Valdes, Tarjan & Lawler, 1982). That edge's :class:`Part` says
how the plan's figures combine: in a series part, latencies add; in a parallel part, they
take the maximum; costs add and log-successes add everywhere.

Empty edges vanish in a series part; in a parallel part too, since a latency is never
negative (an empty branch never sets the critical path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Part", "chain", "series_parallel", "two_terminal", "vertex_paths"]


@dataclass(frozen=True)
class Part:
    """A piece of the plan: one task, or parts in series (in order) or in parallel.

    ``source`` and ``sink`` are its ends in the two-terminal graph (vertex 0 is S, 1 is T,
    ``2 + 2i`` and ``3 + 2i`` the ends of task ``i``); ``tasks`` lists every task inside.
    """

    kind: str  # "task", "series" or "parallel"
    parts: tuple[Part, ...]
    task: int
    source: int
    sink: int
    tasks: tuple[int, ...]


def _task(i: int) -> Part:
    return Part("task", (), i, 2 + 2 * i, 3 + 2 * i, (i,))


def _join(kind: str, a: Part | None, b: Part | None, source: int, sink: int) -> Part | None:
    """``a`` and ``b`` in series or parallel; nested parts of the same kind flattened."""
    pieces: list[Part] = []
    for part in (a, b):
        if part is None:
            continue
        pieces.extend(part.parts if part.kind == kind else (part,))
    if not pieces:
        return None
    if len(pieces) == 1:
        only = pieces[0]
        return Part(only.kind, only.parts, only.task, source, sink, only.tasks)
    tasks = tuple(t for p in pieces for t in p.tasks)
    return Part(kind, tuple(pieces), -1, source, sink, tasks)


def chain(n_tasks: int) -> Part:
    """Every task in series, in index order (what latency does not constrain needs)."""
    if n_tasks == 1:
        return Part("task", (), 0, 0, 1, (0,))
    parts = tuple(_task(i) for i in range(n_tasks))
    return Part("series", parts, -1, 0, 1, tuple(range(n_tasks)))


def series_parallel(preds: Sequence[Sequence[int]]) -> Part | None:
    """The DAG's series-parallel decomposition, or None when it has none.

    ``preds[i]`` lists the tasks that task ``i`` waits for. Parallel parts list their
    branches in the order the reduction met them; series parts list theirs from S to T.

    Examples
    --------
    >>> part = series_parallel([[], [0], [0], [1, 2]])  # a diamond
    >>> part.kind, [p.kind for p in part.parts]
    ('series', ['task', 'parallel', 'task'])
    >>> series_parallel([[], [], [0, 1], [1]]) is None  # the "N" graph
    True
    """
    n = len(preds)
    if n == 0:
        return None
    edges: dict[int, tuple[int, int, Part | None]] = {}
    out_edges: dict[int, set[int]] = defaultdict(set)
    in_edges: dict[int, set[int]] = defaultdict(set)
    counter = 0

    def add(u: int, v: int, part: Part | None) -> None:
        nonlocal counter
        edges[counter] = (u, v, part)
        out_edges[u].add(counter)
        in_edges[v].add(counter)
        counter += 1

    def remove(e: int) -> tuple[int, int, Part | None]:
        u, v, part = edges.pop(e)
        out_edges[u].discard(e)
        in_edges[v].discard(e)
        return u, v, part

    arcs = two_terminal(preds)
    for u, v, task in arcs:
        add(u, v, None if task < 0 else _task(task))
    top = max(max(u, v) for u, v, _ in arcs)
    pending = list(range(2, top + 1))
    changed = True
    while changed:
        changed = False
        # Parallel reductions: edges with the same ends become one.
        by_ends: dict[tuple[int, int], list[int]] = defaultdict(list)
        for e, (u, v, _) in edges.items():
            by_ends[(u, v)].append(e)
        for (u, v), group in by_ends.items():
            if len(group) > 1:
                merged: Part | None = None
                for e in sorted(group):
                    merged = _join("parallel", merged, remove(e)[2], u, v)
                add(u, v, merged)
                changed = True
        # Series reductions: a vertex with one edge in and one out disappears.
        for w in pending:
            if len(in_edges[w]) == 1 and len(out_edges[w]) == 1:
                (first,), (second,) = in_edges[w], out_edges[w]
                u, _, a = remove(first)
                _, v, b = remove(second)
                add(u, v, _join("series", a, b, u, v))
                changed = True
        pending = [w for w in pending if in_edges[w] or out_edges[w]]
    if len(edges) != 1:
        return None
    ((u, v, part),) = edges.values()
    if (u, v) != (0, 1) or part is None or sorted(part.tasks) != list(range(n)):
        return None
    return part


def two_terminal(preds: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """The DAG as a two-terminal graph's edges ``(u, v, task)`` (task -1: an empty edge).

    Vertex 0 is S, 1 is T, ``2 + 2i`` and ``3 + 2i`` the ends of task ``i``; junctions
    (module docstring) follow from ``2 + 2n`` on.
    """
    n = len(preds)
    reduced = _transitive_reduction(preds)
    has_succ = [False] * n
    junctions: dict[frozenset[int], int] = {}
    arcs: list[tuple[int, int, int]] = []
    for i, ps in enumerate(reduced):
        arcs.append((2 + 2 * i, 3 + 2 * i, i))
        for p in ps:
            has_succ[p] = True
        if not ps:
            arcs.append((0, 2 + 2 * i, -1))
        elif len(ps) == 1:
            arcs.append((3 + 2 * next(iter(ps)), 2 + 2 * i, -1))
        else:
            if ps not in junctions:
                junctions[ps] = 2 + 2 * n + len(junctions)
                arcs.extend((3 + 2 * p, junctions[ps], -1) for p in sorted(ps))
            arcs.append((junctions[ps], 2 + 2 * i, -1))
    arcs.extend((3 + 2 * i, 1, -1) for i in range(n) if not has_succ[i])
    return arcs


def vertex_paths(
    preds: Sequence[Sequence[int]], fastest: Sequence[float]
) -> tuple[dict[int, float], dict[int, float]]:
    """Per vertex of :func:`two_terminal`, the longest path from S and to T.

    With ``fastest[i]`` the least latency of task ``i``, these are the shortest possible
    times before and after the vertex in any plan: the bounds a part's labels are cut by.
    """
    arcs = two_terminal(preds)
    outgoing: dict[int, list[tuple[int, float]]] = defaultdict(list)
    indegree: dict[int, int] = defaultdict(int)
    for u, v, task in arcs:
        outgoing[u].append((v, fastest[task] if task >= 0 else 0.0))
        indegree[v] += 1
    order, ready = [], [0]
    while ready:
        u = ready.pop()
        order.append(u)
        for v, _ in outgoing[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    head = {u: 0.0 for u in order}
    for u in order:
        for v, w in outgoing[u]:
            head[v] = max(head[v], head[u] + w)
    tail = {u: 0.0 for u in order}
    for u in reversed(order):
        tail[u] = max((w + tail[v] for v, w in outgoing[u]), default=0.0)
    return head, tail


def _transitive_reduction(preds: Sequence[Sequence[int]]) -> list[frozenset[int]]:
    """Per task, the predecessors not already implied through another predecessor."""
    n = len(preds)
    ancestors: list[set[int]] = [set() for _ in range(n)]
    done = [False] * n
    order: list[int] = []
    for start in range(n):  # depth-first post-order: predecessors before their tasks
        stack = [(start, False)]
        while stack:
            i, expanded = stack.pop()
            if expanded:
                if not done[i]:
                    done[i] = True
                    order.append(i)
                continue
            if done[i]:
                continue
            stack.append((i, True))
            stack.extend((p, False) for p in preds[i] if not done[p])
    for i in order:
        for p in preds[i]:
            ancestors[i] |= ancestors[p] | {p}
    out = []
    for i in range(n):
        direct = set(preds[i])
        implied = set().union(*(ancestors[p] for p in direct)) if direct else set()
        out.append(frozenset(direct - implied))
    return out
