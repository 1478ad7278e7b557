"""Service overhead: Optimize latency over loopback gRPC against the in-process call.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_service.py [--workers N] [--calls N]

It starts ``python -m aalps.server`` as a subprocess (its own interpreter, so the benchmark's
client threads do not share a GIL with it) on a fresh SQLite file, and measures, in one run:

- in-process: ``aalps.optimizer.optimize`` on each paper example (request already converted),
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
import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aalps.cost_models.domain import OptimizeRequest  # noqa: E402
from aalps.optimizer import OptimizeResult, optimize  # noqa: E402
from aalps.proto.aalps.v1 import aalps_pb2 as pb  # noqa: E402
from aalps.proto.aalps.v1 import aalps_pb2_grpc  # noqa: E402
from aalps.proto.convert import dict_to_proto, request_from_proto, result_to_proto  # noqa: E402

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


def _optimize(domain: OptimizeRequest) -> OptimizeResult:
    return optimize(domain, progress=None, should_stop=None, storage=None, study_name=None)


def in_process(message: pb.OptimizeRequest, calls: int) -> tuple[list[float], list[float]]:
    """Latencies of optimize() alone, and of the servicer's whole path in this process
    (convert the request, optimize, convert and serialize the response)."""
    domain = request_from_proto(message)
    _optimize(domain)  # warm caches, as a long-running server has them
    search = [timed(lambda: _optimize(domain)) for _ in range(calls)]
    full = [
        timed(lambda: result_to_proto(_optimize(request_from_proto(message))).SerializeToString())
        for _ in range(calls)
    ]
    return search, full


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
        sys.executable, "-m", "aalps.server", "--port", "0", "--workers", str(workers),
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


def figures(values: Sequence[float]) -> str:
    return f"{percentile(values, 0.5) * 1e3:7.1f} / {percentile(values, 0.99) * 1e3:6.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch-workers", type=int, default=None)
    parser.add_argument("--calls", type=int, default=30, help="calls per example / client")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    batch_workers = args.batch_workers or args.workers
    messages = requests()
    ordered = list(messages.values())
    local = {name: in_process(message, args.calls) for name, message in messages.items()}
    with tempfile.TemporaryDirectory() as folder:
        process, address = start_server(args.workers, batch_workers, folder)
        try:
            remote = {
                name: over_grpc(address, [message], clients=1, calls=args.calls)[0]
                for name, message in messages.items()
            }
            many, wall = over_grpc(address, ordered, clients=16, calls=args.calls)
            throughput = batch_throughput(address, ordered, args.batch)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    print(
        f"aalps service benchmark: {os.cpu_count()} CPUs; server: {args.workers} search "
        f"processes, batch_workers={batch_workers}; {args.calls} calls per row"
    )
    print("Optimize latency, p50 / p99 in ms:")
    header = f"  {'example':<28}{'optimize()':>17}{'in-process path':>17}{'gRPC, 1 client':>17}"
    print(header + "   overhead (p50)")
    for name in EXAMPLES:
        search, full = local[name]
        ratio = statistics.median(remote[name]) / statistics.median(full)
        print(
            f"  {name:<28}{figures(search):>17}{figures(full):>17}"
            f"{figures(remote[name]):>17}   {ratio:.2f}x"
        )
    all_full = [t for name in EXAMPLES for t in local[name][1]]
    all_remote = [t for name in EXAMPLES for t in remote[name]]
    ratio = statistics.median(all_remote) / statistics.median(all_full)
    blank = ""
    print(
        f"  {'all three, 1 client':<28}{blank:>17}{figures(all_full):>17}"
        f"{figures(all_remote):>17}   {ratio:.2f}x"
    )
    print(
        f"  {'all three, 16 clients':<28}{blank:>17}{blank:>17}{figures(many):>17}"
        f"   {len(many) / wall:.1f} calls/s"
    )
    print(
        f"BatchOptimize, {args.batch} small requests (paper examples): {throughput:.1f} requests/s"
    )


if __name__ == "__main__":
    main()
