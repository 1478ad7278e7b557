"""Service overhead: Optimize latency over loopback gRPC against the in-process call.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_service.py [--workers N] [--calls N]

It starts ``python -m server`` as a subprocess (its own interpreter, so the benchmark's
client threads do not share a GIL with it) on a fresh SQLite file, and measures, in one run:

- in-process: ``optimizer.optimize`` on each paper example (request already converted),
  and the full in-process path the servicer runs (convert + optimize + convert back);
- Optimize over loopback with 1 client and with 16 concurrent clients (p50 / p99);
- BatchOptimize throughput on 200 small requests (the paper examples, round robin).

The overhead ratio is the service p50 over the in-process p50 for one client.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer import optimize  # noqa: E402
from proto.aalps.v1 import aalps_pb2 as pb  # noqa: E402
from proto.aalps.v1 import aalps_pb2_grpc  # noqa: E402
from server.converters import dict_to_proto, request_from_proto, result_to_proto  # noqa: E402
from tests.conftest import example_data  # noqa: E402

EXAMPLES = ("k_task_routing", "code_debugging", "evolutionary_optimization")
OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def requests() -> dict[str, pb.OptimizeRequest]:
    out = {}
    for name in EXAMPLES:
        message = dict_to_proto(example_data(name), pb.OptimizeRequest())
        assert isinstance(message, pb.OptimizeRequest)
        out[name] = message
    return out


def in_process(messages: dict[str, pb.OptimizeRequest], calls: int) -> dict[str, list[float]]:
    """Latencies of optimize() alone and of the servicer's whole in-process path."""
    search, full = [], []
    for message in messages.values():
        domain = request_from_proto(message)
        optimize(domain, progress=None, should_stop=None, storage=None, study_name=None)  # warm
        for _ in range(calls):
            search.append(
                timed(
                    lambda d=domain: optimize(
                        d, progress=None, should_stop=None, storage=None, study_name=None
                    )
                )
            )
            full.append(
                timed(
                    lambda m=message: result_to_proto(
                        optimize(
                            request_from_proto(m),
                            progress=None,
                            should_stop=None,
                            storage=None,
                            study_name=None,
                        )
                    ).SerializeToString()
                )
            )
    return {"optimize()": search, "convert+optimize+convert": full}


def over_grpc(
    address: str, messages: Sequence[pb.OptimizeRequest], clients: int, calls: int
) -> tuple[list[float], float]:
    """Latencies of ``calls`` Optimize calls per client, and the wall time of it all."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        with grpc.insecure_channel(address, options=OPTIONS) as channel:
            stub = aalps_pb2_grpc.AalpsServiceStub(channel)
            stub.Optimize(messages[0], timeout=60)  # connect first
            mine = []
            for i in range(calls):
                message = messages[(offset + i) % len(messages)]
                mine.append(timed(lambda m=message: stub.Optimize(m, timeout=120)))
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return latencies, time.perf_counter() - start


def batch_throughput(address: str, messages: Sequence[pb.OptimizeRequest], size: int) -> float:
    batch = pb.BatchOptimizeRequest(requests=[messages[i % len(messages)] for i in range(size)])
    with grpc.insecure_channel(address, options=OPTIONS) as channel:
        stub = aalps_pb2_grpc.AalpsServiceStub(channel)
        start = time.perf_counter()
        entries = list(stub.BatchOptimize(batch, timeout=600))
        elapsed = time.perf_counter() - start
    failed = [e.index for e in entries if e.WhichOneof("outcome") != "result"]
    assert len(entries) == size and not failed, failed
    return size / elapsed


def start_server(
    workers: int, batch_workers: int, folder: str
) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, "-m", "server", "--port", "0", "--workers", str(workers),
        "--batch-workers", str(batch_workers), "--storage", f"sqlite:///{folder}/bench.db",
        "--log-level", "WARNING",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        match = re.match(r"listening on (\S+)", line)
        if match:
            return process, match.group(1)
    raise RuntimeError("the server did not start")


def row(label: str, values: Sequence[float]) -> str:
    p50, p99 = percentile(values, 0.5) * 1e3, percentile(values, 0.99) * 1e3
    return f"  {label:<38} n={len(values):<5} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch-workers", type=int, default=None)
    parser.add_argument("--calls", type=int, default=20, help="calls per example / client")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)
    batch_workers = args.batch_workers or args.workers
    messages = requests()
    print(f"aalps service benchmark: {os.cpu_count()} CPUs, server with {args.workers} search "
          f"processes, batch_workers={batch_workers}")  # fmt: skip
    local = in_process(messages, args.calls)
    print("in process (this interpreter):")
    for label, values in local.items():
        print(row(label, values))
    with tempfile.TemporaryDirectory() as folder:
        process, address = start_server(args.workers, batch_workers, folder)
        try:
            ordered = list(messages.values())
            one, _ = over_grpc(address, ordered, clients=1, calls=args.calls * len(ordered))
            many, wall = over_grpc(address, ordered, clients=16, calls=args.calls)
            throughput = batch_throughput(address, ordered, args.batch)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    print(f"Optimize over loopback gRPC ({address}):")
    print(row("1 client", one))
    print(row("16 concurrent clients", many))
    print(f"  16 clients: {len(many) / wall:.1f} calls/s overall")
    base = statistics.median(local["optimize()"])
    full = statistics.median(local["convert+optimize+convert"])
    service = statistics.median(one)
    print(f"overhead (1 client p50 / in-process p50): {service / base:.2f}x vs optimize(), "
          f"{service / full:.2f}x vs convert+optimize+convert")  # fmt: skip
    print(f"BatchOptimize, {args.batch} small requests: {throughput:.1f} requests/s")


if __name__ == "__main__":
    main()
