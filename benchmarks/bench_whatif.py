"""What-if benchmark: one price change over many small workflows (issue 12).

Run ``PYTHONPATH=. /work/venv/bin/python benchmarks/bench_whatif.py [--n 1000]``.

Builds ``n`` seeded random workflows (the test suite's generator; not timed), then in the
same run: the what-if (``Client.in_process().what_if``) with one price change, and two full
batch runs (old catalog, changed catalog) through ``Client.batch``, each phase on its own
in-process backend whose pool of processes (one per core) is reaped at its end, so that
their CPU time is counted. Prints wall and CPU seconds (this process and its children) of
each, the ratios what-if / two batches, how many workflows the what-if could skip the
second search for, and whether its report equals the second batch's plans and costs.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from aalps.client import Client
from aalps.client.in_process import InProcessBackend
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto
from aalps.server.whatif import same_plan, unaffected

from tests.optimizer.random_requests import random_request_data

#: The change: three times m1's output price (every workflow's catalog has m1).
CHANGE = ("m1", "price_per_output_token", 3.0)


def _message(data: dict[str, Any]) -> pb.OptimizeRequest:
    message = pb.OptimizeRequest()
    dict_to_proto(data, message)
    return message


def _timed(processes: int, run: Callable[[Client], Any]) -> tuple[Any, float, float]:
    """``run(client)`` on a fresh in-process backend; its value, wall and CPU seconds
    (this process and the pool's processes, reaped at the end)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu = time.perf_counter(), time.process_time()
    backend = InProcessBackend(batch_processes=processes)
    try:
        value = run(Client(backend))
    finally:
        backend.close(wait=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return value, time.perf_counter() - wall, time.process_time() - cpu + child


def _workflows(n: int, cache: str | None) -> list[dict[str, Any]]:
    """The seeded workflows 0..n-1, read from ``cache`` when it holds as many."""
    path = Path(cache) if cache else None
    if path is not None and path.exists():
        kept = json.loads(path.read_text())
        if len(kept) >= n:
            return list(kept[:n])
    workflows = [random_request_data(seed, max_joint=2_000) for seed in range(n)]
    if path is not None:
        path.write_text(json.dumps(workflows))
    return workflows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="workflows (default 1000)")
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 2, help="pool processes (cores)"
    )
    parser.add_argument(
        "--cache", metavar="FILE.json", help="keep the drawn workflows here (drawn if absent)"
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    workflows = _workflows(args.n, args.cache)
    model, field, factor = CHANGE
    changed = copy.deepcopy(workflows)
    for data in changed:
        for entry in data["catalog"]["models"]:
            if entry["name"] == model:
                entry[field] *= factor
    old = [_message(d) for d in workflows]
    new = [_message(d) for d in changed]
    request = pb.WhatIfRequest(requests=old)
    request.changes.add(model=model, field=field, factor=factor)
    print(f"{args.n} workflows drawn in {time.perf_counter() - started:.1f} s (not timed)")

    def what_if(client: Client) -> list[pb.WhatIfResponse]:
        return list(client.what_if(request, timeout=None))

    def batches(client: Client) -> list[dict[int, Any]]:
        return [{b.index: b for b in client.batch(run, timeout=None)} for run in (old, new)]

    entries, what_wall, what_cpu = _timed(args.processes, what_if)
    (before, after), batch_wall, batch_cpu = _timed(args.processes, batches)
    skippable = sum(
        before[i].ok and unaffected(old[i], new[i], before[i].message.result) for i in range(args.n)
    )
    agree = sum(
        e.HasField("error") == (not after[i].ok)
        and (
            e.HasField("error")
            or (
                same_plan(e.after, after[i].message.result.plan)
                and e.cost_after == after[i].message.result.plan.expected_cost
            )
        )
        for i, e in enumerate(entries)
    )
    print(f"what-if on {args.n} workflows, one price change ({model}.{field}*{factor:g}), ")
    print(f"{args.processes} pool processes, load average {os.getloadavg()[0]:.1f}")
    print(f"  plans changed: {sum(e.changed for e in entries)}; second search skipped for")
    print(f"  {skippable} (the change cannot move their plan); failed: ", end="")
    print(sum(e.HasField("error") for e in entries))
    print(f"  report equals the second batch run: {agree}/{args.n}")
    print(f"  what-if:         wall {what_wall:8.2f} s   CPU {what_cpu:8.2f} s")
    print(f"  two batch runs:  wall {batch_wall:8.2f} s   CPU {batch_cpu:8.2f} s")
    print(
        f"  ratio what-if / two batches: wall {what_wall / batch_wall:.2f}, "
        f"CPU {what_cpu / batch_cpu:.2f}"
    )


if __name__ == "__main__":
    main()
