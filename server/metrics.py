"""Prometheus metrics of one server: RPCs by method and code, jobs, searches (``--metrics-port``).

Each :class:`ServerMetrics` has its own registry (several servers may share a test process)
and serves it over HTTP (``GET /metrics``) from a thread of ``prometheus_client``.

=====================================  =========  ============================================
metric                                 type       labels / meaning
=====================================  =========  ============================================
``grpc_server_handled_total``          counter    ``grpc_service``, ``grpc_method``,
                                                  ``grpc_code``: calls ended, by status code
``grpc_server_handling_seconds``       histogram  the same labels: time from the call's
                                                  start to its status
``aalps_jobs``                         gauge      ``state`` queued / running: jobs held by
                                                  this replica now
``aalps_job_queue_depth``              gauge      jobs waiting here for a free search lane
``aalps_job_attempts_ended_total``     counter    ``state``: job attempts this replica ended
``aalps_search_seconds``               histogram  wall-clock seconds of each search answered
                                                  by a call (Optimize, a BatchOptimize entry)
``aalps_search_trials_total``          counter    trials those searches ran
=====================================  =========  ============================================

The names and labels of the RPC metrics are those of go-grpc-prometheus and its Python
ports, so existing gRPC dashboards and alerts apply unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from aalps.server.jobs import JobRunner

__all__ = ["RPC_BUCKETS", "SEARCH_BUCKETS", "ServerMetrics"]

#: Call latency buckets (seconds): health checks take microseconds, searches minutes.
RPC_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0, 600.0)
#: Search duration buckets (seconds).
SEARCH_BUCKETS = (0.01, 0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)


class ServerMetrics:
    """The metrics of one server, and the HTTP endpoint that exposes them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("grpc_service", "grpc_method", "grpc_code")
        self._handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by method and status code.",
            labels,
            registry=self.registry,
        )
        self._seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from an RPC's start to its status, by method and status code.",
            labels,
            buckets=RPC_BUCKETS,
            registry=self.registry,
        )
        self._search_seconds = Histogram(
            "aalps_search_seconds",
            "Wall-clock seconds of each search answered by a call.",
            buckets=SEARCH_BUCKETS,
            registry=self.registry,
        )
        self._search_trials = Counter(
            "aalps_search_trials",
            "Trials run by the searches answered by calls.",
            registry=self.registry,
        )
        self._http: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def observe_call(self, method: str, code: str, seconds: float) -> None:
        """Count one finished call; ``method`` is gRPC's ``/package.Service/Method``."""
        service, _, name = method.lstrip("/").rpartition("/")
        self._handled.labels(service, name, code).inc()
        self._seconds.labels(service, name, code).observe(seconds)

    def observe_search(self, seconds: float, trials: int) -> None:
        """Record one search's duration and trials (from its ``SearchStats``)."""
        self._search_seconds.observe(max(0.0, seconds))
        self._search_trials.inc(max(0, trials))

    def watch_jobs(self, jobs: JobRunner) -> None:
        """Report ``jobs``' queue and lanes at every scrape."""
        self.registry.register(_JobCollector(jobs))

    def serve(self, host: str, port: int) -> int:
        """Start the HTTP endpoint on ``host:port`` (0 picks a port); returns the bound port.

        Raises
        ------
        OSError
            the port cannot be bound (in use, not permitted).
        """
        self._http, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._http.server_port)

    def stop(self) -> None:
        """Stop the HTTP endpoint (a no-op when it was not started)."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class _JobCollector(Collector):
    """Reads the job runner's counts when Prometheus scrapes (nothing to keep in sync)."""

    def __init__(self, jobs: JobRunner) -> None:
        self._jobs = jobs

    def collect(self) -> Iterator[Metric]:
        jobs = self._jobs
        held = GaugeMetricFamily(
            "aalps_jobs", "Jobs held by this replica, by state.", labels=["state"]
        )
        held.add_metric(["queued"], jobs.queued)
        held.add_metric(["running"], jobs.running)
        yield held
        yield GaugeMetricFamily(
            "aalps_job_queue_depth", "Jobs waiting here for a free search lane.", jobs.queued
        )
        ended = CounterMetricFamily(
            "aalps_job_attempts_ended",
            "Job attempts this replica ended, by the state they left the job in.",
            labels=["state"],
        )
        for state, count in sorted(dict(jobs.ended).items()):
            ended.add_metric([state], count)
        yield ended
