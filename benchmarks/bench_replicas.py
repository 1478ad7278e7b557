"""Scale-out on one PostgreSQL database: a batch as jobs on 1, 2 and 3 replicas, and takeover.

Run from the repository root (a PostgreSQL server with trust auth, as CI has)::

    AALPS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        PYTHONPATH=. .venv/bin/python benchmarks/bench_replicas.py [--items 1000] [--quick]

Each configuration gets a new, empty database and ``count`` replicas
(``python -m aalps.server --workers W``). The batch (the paper's examples, round robin,
each with its own seed) goes through one replica with :meth:`aalps.Client.batch_jobs`: every
item is a job that any replica claims. Printed: wall seconds, requests/s and the ratio to
one replica, the jobs each replica ran (from the claim history), and the CPU seconds of the
replicas (their rusage once they exit). On a 2-core machine three replicas share two cores:
the ratio is bounded by the cores, not by the store.

Takeover: a long job on one of two replicas, its holder SIGKILLed, the seconds until the
other replica holds the lease (default lease 10 s, claim poll 2 s), median of ``--kills``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aalps.client import Client  # noqa: E402
from aalps.proto.aalps.v1 import aalps_pb2 as pb  # noqa: E402
from aalps.server.store import JobState, JobStore  # noqa: E402
from aalps.server.stores import open_store  # noqa: E402

from tests.server.conftest import ServerProcess, example_request, slow_request  # noqa: E402

EXAMPLES = ("k_task_routing", "code_debugging", "character_counting")


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database next to ``url``'s; dropped afterwards."""
    base = sqlalchemy.engine.make_url(url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"aalps_bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def workload(items: int) -> list[pb.OptimizeRequest]:
    """``items`` small requests: the paper's examples round robin, each its own seed."""
    found = []
    for i in range(items):
        message = example_request(EXAMPLES[i % len(EXAMPLES)])
        message.search.seed = i
        found.append(message)
    return found


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batch_on(url: str, count: int, workers: int, items: int) -> tuple[float, float, Counter[int]]:
    """Wall seconds, replicas' CPU seconds and jobs run per replica pid, for one batch."""
    args = ("--storage", url, "--workers", str(workers), "--validation-workers", "1")
    args += ("--claim-poll-seconds", "0.5")
    replicas = [ServerProcess(*args) for _ in range(count)]
    cpu_before = children_cpu()
    store = open_store(url, create=False)
    try:
        start = time.monotonic()
        with Client.remote(replicas[0].address, timeout=120) as client:
            outcomes = list(client.batch_jobs(workload(items), window=96, poll_seconds=0.1))
            wall = time.monotonic() - start
            failed = [o for o in outcomes if o.error is not None]
            if failed:
                raise RuntimeError(f"{len(failed)} items failed, e.g. {failed[0].error}")
            job_ids = [job.job_id for job in client.list_jobs(state="SUCCEEDED", page_size=500)]
        ran: Counter[int] = Counter()
        for job_id in job_ids:
            claims = store.claims(job_id)
            ran[int(claims[-1].owner.split(":")[1])] += 1
    finally:
        for replica in replicas:
            replica.terminate()
        store.close()
    return wall, children_cpu() - cpu_before, ran


def takeover_seconds(url: str, kills: int) -> list[float]:
    """Seconds from SIGKILL of a job's holder to the other replica's claim, ``kills`` times."""
    args = ("--storage", url, "--workers", "1", "--validation-workers", "1")
    replicas = [ServerProcess(*args) for _ in range(2)]
    store = open_store(url, create=False)
    found = []
    try:
        for attempt in range(kills):
            with Client.remote(replicas[0].address, timeout=60) as client:
                job_id = client.submit(slow_request(tasks=4, n_trials=100_000, seed=attempt)).job_id
            owner = _new_holder(store, job_id, than="")
            pid = int(owner.split(":")[1])
            index = next(i for i, r in enumerate(replicas) if r.process.pid == pid)
            replicas[index].kill()
            killed = time.monotonic()
            _new_holder(store, job_id, than=owner)
            found.append(time.monotonic() - killed)
            with Client.remote(replicas[1 - index].address, timeout=60) as client:
                client.cancel(job_id)
            replicas[index] = ServerProcess(*args)
    finally:
        for replica in replicas:
            replica.kill()
        store.close()
    return found


def _new_holder(store: JobStore, job_id: str, *, than: str, timeout: float = 60) -> str:
    """The lease owner of RUNNING ``job_id`` once it is someone other than ``than``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = store.get(job_id, "")
        if job is not None and job.state is JobState.RUNNING and job.lease_owner not in ("", than):
            return job.lease_owner
        time.sleep(0.05)
    raise TimeoutError(f"no replica took job {job_id}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="requests in the batch")
    parser.add_argument("--workers", type=int, default=1, help="search processes per replica")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--kills", type=int, default=5, help="takeovers measured")
    parser.add_argument("--quick", action="store_true", help="200 items, 3 kills")
    args = parser.parse_args(argv)
    url = os.environ.get("AALPS_TEST_POSTGRES_URL")
    if not url:
        sys.exit("set AALPS_TEST_POSTGRES_URL to a PostgreSQL server (trust auth)")
    items, kills = (200, 3) if args.quick else (args.items, args.kills)
    print(f"batch of {items} small requests as jobs; {args.workers} search process(es) each")
    print("replicas  wall s  req/s   ratio  replicas' CPU s  jobs per replica")
    first = None
    for count in args.replicas:
        with fresh_database(url) as database:
            wall, cpu, ran = batch_on(database, count, args.workers, items)
        rate = items / wall
        first = first or rate
        spread = " ".join(str(n) for n in sorted(ran.values(), reverse=True))
        print(f"{count:>8}  {wall:6.1f}  {rate:6.1f}  {rate / first:5.2f}x  {cpu:15.1f}  {spread}")
    with fresh_database(url) as database:
        took = takeover_seconds(database, kills)
    print(
        f"takeover after SIGKILL (lease 10 s, poll 2 s): median {statistics.median(took):.1f} s, "
        f"min {min(took):.1f}, max {max(took):.1f} over {len(took)}"
    )


if __name__ == "__main__":
    main()
