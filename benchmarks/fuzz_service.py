"""Fuzz a real server with 10,000 hostile requests and print what it answered.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/fuzz_service.py [--requests 10000]

It starts ``python -m aalps.server`` (two search processes, a fresh SQLite file), sends the
requests of :mod:`tests.server.fuzz_requests` six at a time, and prints the status counts,
the invariant's violations (crashes, INTERNAL/UNKNOWN, INVALID_ARGUMENT without a field,
deadline overruns), the trivial calls that were not answered in 5 s (one after every batch
of 50), the server's resident memory, and the client's and server's CPU seconds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.server.conftest import ServerProcess  # noqa: E402
from tests.server.fuzz_requests import (  # noqa: E402
    Answer,
    FuzzCase,
    call_case,
    check_answer,
    describe,
    fuzz_cases,
    process_tree_rss_mb,
    summarize,
    trivial_call_seconds,
)

BATCH = 50


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    total = 0.0
    pending = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as handle:
                pending += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    answers: list[Answer] = []
    problems: list[str] = []
    blocked: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess("--storage", f"sqlite:///{tmp}/aalps.db", "--workers", "2")
        wall = time.monotonic()
        try:
            with (
                server.channel() as channel,
                concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool,
            ):

                @settings(
                    max_examples=max(1, args.requests // BATCH),
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(st.lists(fuzz_cases(), min_size=BATCH, max_size=BATCH))
                def batch(cases: list[FuzzCase]) -> None:
                    got = list(pool.map(lambda case: call_case(channel, case), cases))
                    answers.extend(got)
                    for case, answer in zip(cases, got, strict=True):
                        if (problem := check_answer(answer)) is not None:
                            problems.append(f"{describe(case)} -> {problem}")
                    try:
                        seconds = trivial_call_seconds(channel, timeout=30)
                    except Exception:  # noqa: BLE001 - unanswered counts as blocked
                        seconds = float("inf")
                    if seconds >= 5.0:
                        blocked.append(seconds)
                    done = len(answers)
                    if done % 1000 < BATCH:
                        print(f"  {done} requests, {len(problems)} problems", flush=True)

                batch()
            rss = process_tree_rss_mb(server.process.pid)
            server_cpu = _cpu_seconds(server.process.pid)
        finally:
            server.kill()
        wall = time.monotonic() - wall
    client_cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    counts = summarize(answers)
    crashes = counts.get("INTERNAL", 0) + counts.get("UNKNOWN", 0)
    overruns = sum(1 for p in problems if "answered after" in p)
    unnamed = sum(1 for p in problems if "names no field" in p)
    print(f"requests          {len(answers)}")
    print("status counts     " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"INTERNAL/UNKNOWN  {crashes}")
    print(f"unnamed rejects   {unnamed}")
    print(f"deadline overruns {overruns}")
    print(f"blocked trivial   {len(blocked)} (of {len(answers) // BATCH} probes)")
    print(f"server RSS        {rss:.0f} MiB (with its search processes)")
    print(f"CPU seconds       server {server_cpu:.1f}, client {client_cpu:.1f}; wall {wall:.0f}")
    for problem in problems[:20]:
        print("  " + problem)
    return 1 if problems or blocked else 0


if __name__ == "__main__":
    raise SystemExit(main())
