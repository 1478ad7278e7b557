"""Batch benchmark: small random workflows through the in-process batch, serial and pooled.

Run through ``benchmarks/bench_optimizer.py --section batch [--batch-size N]``: the same
requests one at a time in this process and in the pool of processes (one per core), in the
same run: CPU seconds (this process and every process it started) and wall seconds.
"""

from __future__ import annotations

import time

from benchmarks.tables import table

__all__ = ["batch"]


def _descendants_cpu() -> float:
    """CPU seconds of this process's live descendants, their reaped children included.

    A forkserver's workers are its children, not ours: ``RUSAGE_CHILDREN`` never counts
    them (nor the forkserver, which lives as long as this process). Linux only (``/proc``);
    0 elsewhere.
    """
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15)
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(f) for f in fields[11:15]) / ticks
    me, total = os.getpid(), 0.0
    for pid in cpu:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parents.get(ancestor)
        total += cpu[pid] if ancestor == me else 0.0
    return total


def batch(size: int) -> None:
    import os
    import resource

    from aalps.client import Client
    from aalps.client.in_process import InProcessBackend

    from tests.optimizer.random_requests import random_request_data

    requests = [random_request_data(seed) for seed in range(1, size + 1)]
    rows, walls = [], []
    cores = max(2, os.cpu_count() or 2)
    for label, processes in (("serial", 1), (f"pool ({cores} processes)", cores)):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        descendants = _descendants_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        failed = 0
        backend = InProcessBackend(batch_processes=processes)
        try:
            for item in Client(backend).batch(requests, timeout=None):
                failed += item.error is not None
        finally:
            # the pool's processes reaped (by us or by the forkserver): their CPU is counted
            backend.close(wait=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        child_cpu += _descendants_cpu() - descendants
        total = time.process_time() - cpu + child_cpu
        walls.append(wall)
        rows.append((label, f"{total:.1f}", f"{wall:.1f}", failed))
        print(f"{label}: done", flush=True)
    print(f"\nBatch: {size} small random workflows in process, the same run")
    print(table(("path", "CPU s (with children)", "wall s", "failed"), rows))
    print(f"serial / pool wall: {walls[0] / walls[1]:.2f}x")
