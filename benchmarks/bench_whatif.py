"""What-if benchmark: one price change over many small workflows (issue 12).

Run ``PYTHONPATH=. /work/venv/bin/python benchmarks/bench_whatif.py [--n 1000]``.

Builds ``n`` seeded random workflows (the test suite's generator), then in the same run:
the what-if (``Client.in_process().what_if``) with one price change, and two full batch
runs (old catalog, changed catalog) through ``Client.batch``. Prints wall and CPU seconds
of each and the ratio what-if / two batches (the what-if skips the second search where the
plan cannot change).
"""

from __future__ import annotations

import argparse
import copy
import time

import optuna
from aalps.client import Client
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto

from tests.optimizer.random_requests import random_request_data


def _message(data: dict) -> pb.OptimizeRequest:
    message = pb.OptimizeRequest()
    dict_to_proto(data, message)
    return message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="workflows (default 1000)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workflows = [random_request_data(seed, max_joint=2_000) for seed in range(args.n)]
    change = ("m1", "price_per_output_token", 3.0)
    changed = copy.deepcopy(workflows)
    for data in changed:
        for model in data["catalog"]["models"]:
            if model["name"] == change[0]:
                model[change[1]] *= change[2]
    request = pb.WhatIfRequest(requests=[_message(d) for d in workflows])
    request.changes.add(model=change[0], field=change[1], factor=change[2])
    with Client.in_process() as client:
        wall, cpu = time.perf_counter(), time.process_time()
        entries = list(client.what_if(request, timeout=None))
        what_wall, what_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in (workflows, changed):
            list(client.batch([_message(d) for d in batch], timeout=None))
        batch_wall, batch_cpu = time.perf_counter() - wall, time.process_time() - cpu
    moved = sum(e.changed for e in entries)
    print(f"what-if on {args.n} workflows, one price change ({'.'.join(change[:2])}*{change[2]})")
    print(f"  plans changed: {moved}")
    print(f"  what-if:            wall {what_wall:8.2f} s   CPU {what_cpu:8.2f} s")
    print(f"  two batch runs:     wall {batch_wall:8.2f} s   CPU {batch_cpu:8.2f} s")
    print(f"  ratio what-if / two batches: wall {what_wall / batch_wall:.2f}")


if __name__ == "__main__":
    main()
