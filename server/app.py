"""Assembling and running the server: ``make_server`` (testable) and ``run_server`` (blocking).

``make_server(config)`` creates the search processes' pool first, before any gRPC object,
and returns an :class:`AalpsServer` that is started and stopped from a coroutine, so a
test can run it on a loopback port inside its own event loop. ``run_server(config)`` is
the process's main: it serves until SIGTERM or SIGINT, then shuts down gracefully.

Start-up order: open the store (creating aalps' and Optuna's tables under the schema
lock, :func:`~aalps.server.store_schema.schema_lock`, so replicas starting together on an
empty database do not race), start gRPC, start every search and validation process, start
claiming jobs (PENDING ones and those whose lease expired), and only then report SERVING.
Shutdown: NOT_SERVING at once, stop accepting calls and claims, stop running searches and
release their jobs for other replicas within ``grace_seconds``, then interrupt what is left.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

import grpc
from aalps.proto.aalps.v1 import aalps_pb2, aalps_pb2_grpc
from aalps.server.auth import TokenAuth
from aalps.server.call_observer import CallObserver
from aalps.server.config import ServerConfig
from aalps.server.decoding import DecodeErrorInterceptor
from aalps.server.engines import PoolEngine
from aalps.server.job_worker import optuna_storage
from aalps.server.jobs import JobRunner
from aalps.server.log_format import masked_url
from aalps.server.metrics import ServerMetrics
from aalps.server.pool import SearchPool
from aalps.server.service import AalpsService
from aalps.server.servicer import AalpsServicer
from aalps.server.startup import bind_error
from aalps.server.store import JobStore
from aalps.server.store_guard import GuardedStore, open_guarded_store
from aalps.server.store_health import StoreMonitor
from aalps.server.store_schema import schema_lock
from aalps.server.tls import server_credentials
from aalps.server.validation import ValidationPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

__all__ = ["AalpsServer", "KILL_AFTER_SECONDS", "SERVICE_NAME", "make_server", "run_server"]

_log = logging.getLogger(__name__)

SERVICE_NAME: str = aalps_pb2.DESCRIPTOR.services_by_name["AalpsService"].full_name
#: Seconds the search processes get to stop after the grace period, before being killed.
KILL_AFTER_SECONDS = 2.0
#: Keepalive pings a client may send (the client's channel pings every 60 s).
_KEEPALIVE_OPTIONS = [
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class AalpsServer:
    """One aalps server: its search pool, job store, job runner and gRPC server.

    Build it with :func:`make_server`; ``await start()`` from the event loop that will
    serve. ``port`` is the bound port once started (useful with ``config.port == 0``), and
    ``metrics_port`` that of the Prometheus endpoint (None without one).
    """

    def __init__(
        self,
        config: ServerConfig,
        pool: SearchPool | None = None,
        validation: ValidationPool | None = None,
    ) -> None:
        if config.storage == "memory:":
            raise ValueError("the server needs a database its worker processes can open")
        self.config = config
        self.port = config.port
        self.metrics_port: int | None = None
        self._metrics = ServerMetrics() if config.metrics_port is not None else None
        self._limits = config.limits
        self._auth = TokenAuth(config.tokens())
        # Both process pools start before any gRPC object.
        self._pool = pool or SearchPool(config.workers)
        self._validation = validation or ValidationPool(config.validation_workers)
        self._store: JobStore | None = None
        self._jobs: JobRunner | None = None
        self._health = HealthServicer()
        # NOT_SERVING while the store is unreachable (probed; woken by faults on calls).
        self._monitor = StoreMonitor(self._probe_store, self._set_serving)
        self._grpc: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Open the store and start the processes, bind, resume jobs, report SERVING."""
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        store, *_ = await asyncio.gather(
            asyncio.to_thread(self._open_store), self._pool.warm_up(), self._validation.warm_up()
        )
        self._store = store
        workers = self.config.workers
        jobs = self._jobs = JobRunner(
            self._pool,
            store,
            storage_url=self.config.storage_url,
            table_prefix=self.config.table_prefix,
            limits=self._limits,
            slots=max(1, workers - 1),  # one process stays free for interactive calls
            small_slots=1 if workers > 1 else 0,  # ... except for a small job
            lease_seconds=self.config.lease_seconds,
            poll_seconds=self.config.claim_poll_seconds,
        )
        self._grpc = self._make_grpc(store, jobs)
        self.port = self._bind(self._grpc)
        if self._metrics is not None:
            self._metrics.watch_jobs(jobs)
            self.metrics_port = await asyncio.to_thread(self._serve_metrics, self._metrics)
        await self._grpc.start()
        jobs.start()
        await self._set_serving(True)
        self._monitor.start()
        tls = self.config.tls
        security = "plaintext" if tls is None else "mTLS" if tls.client_ca else "TLS"
        metrics = "" if self.metrics_port is None else f", metrics on port {self.metrics_port}"
        _log.info(
            "serving on %s (%s, storage %s%s)",
            self.address,
            security,
            masked_url(self.config.storage),
            metrics,
        )

    def _bind(self, server: grpc.aio.Server) -> int:
        """Add the gRPC port (TLS when configured); a port in use is a StartupError."""
        host, port = self.config.host, self.config.port
        address = f"{host}:{port}"
        tls = self.config.tls
        try:
            if tls is None:
                return server.add_insecure_port(address)
            return server.add_secure_port(address, server_credentials(tls))
        except RuntimeError as error:  # grpc: "Failed to bind to address ..."
            raise bind_error("gRPC", host, port, error) from None

    def _serve_metrics(self, metrics: ServerMetrics) -> int:
        host, port = self.config.host, self.config.metrics_port or 0
        try:
            return metrics.serve(host, port)
        except OSError as error:
            raise bind_error("metrics", host, port, error) from None

    async def _set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse
        for name in ("", SERVICE_NAME):
            await self._health.set(name, status.SERVING if serving else status.NOT_SERVING)

    def _probe_store(self) -> None:
        if isinstance(self._store, GuardedStore):
            self._store.probe()

    def _open_store(self) -> JobStore:
        url = self.config.storage_url
        prefix = self.config.table_prefix
        with schema_lock(url):  # one replica creates the tables, the others wait
            store = open_guarded_store(url, table_prefix=prefix, on_fault=self._monitor.notify)
            optuna_storage(url)  # Optuna's tables, before this replica's workers open them
        return store

    def _make_grpc(self, store: JobStore, jobs: JobRunner) -> grpc.aio.Server:
        size = self.config.max_message_bytes
        # The observer is outermost: it sees the code of calls refused by auth or decoding.
        interceptors: list[grpc.aio.ServerInterceptor] = [
            CallObserver(self._auth, self._metrics),
            *([self._auth.interceptor()] if self._auth.enabled else []),
            DecodeErrorInterceptor(SERVICE_NAME),
        ]
        server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", size),
                ("grpc.max_send_message_length", size),
                ("grpc.so_reuseport", 0),
                *_KEEPALIVE_OPTIONS,
            ],
        )
        service = AalpsService(
            store=store,
            engine=PoolEngine(self._pool, self._validation),
            jobs=jobs,
            limits=self._limits,
            batch_workers=self.config.batch_workers,
        )
        servicer = AalpsServicer(service=service, auth=self._auth, max_message_bytes=size)
        aalps_pb2_grpc.add_AalpsServiceServicer_to_server(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        services = (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
        reflection.enable_server_reflection((*services, reflection.SERVICE_NAME), server)
        return server

    async def stop(self, grace: float | None = None) -> None:
        """Graceful shutdown: NOT_SERVING, stop accepting, wait ``grace`` s, interrupt."""
        grace = self.config.grace_seconds if grace is None else grace
        await self._monitor.stop()
        await self._health.enter_graceful_shutdown()
        waits = []
        if self._grpc is not None:
            waits.append(self._grpc.stop(grace))
        if self._jobs is not None:
            waits.append(self._jobs.drain(grace))
        await asyncio.gather(*waits)
        if self._metrics is not None:
            await asyncio.to_thread(self._metrics.stop)
        self._validation.shutdown()
        await asyncio.to_thread(self._pool.shutdown, KILL_AFTER_SECONDS)
        if self._store is not None:
            await asyncio.to_thread(self._store.close)

    async def wait(self) -> None:
        """Until the gRPC server has stopped."""
        if self._grpc is not None:
            await self._grpc.wait_for_termination()


def make_server(
    config: ServerConfig,
    *,
    pool: SearchPool | None = None,
    validation: ValidationPool | None = None,
) -> AalpsServer:
    """A configured server, not yet started; its search processes are starting already.

    ``pool`` lets a caller start the processes even earlier (``python -m aalps.server`` does,
    before importing the rest of the server); by default one of ``config.workers``.
    ``validation`` likewise (tests pass one with a hook); by default one of
    ``config.validation_workers``.
    """
    return AalpsServer(config, pool, validation)


def run_server(
    config: ServerConfig,
    *,
    pool: SearchPool | None = None,
    on_ready: Callable[[AalpsServer], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully. Blocks.

    ``on_ready`` is called once the server reports SERVING (``python -m aalps.server`` prints
    its address there).
    """
    asyncio.run(_serve(make_server(config, pool=pool), on_ready))


async def _serve(server: AalpsServer, on_ready: Callable[[AalpsServer], None] | None) -> None:
    config = server.config
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await server.start()
        if on_ready is not None:
            on_ready(server)
        await stopping.wait()
        _log.info("shutting down (grace %.1fs)", config.grace_seconds)
    finally:
        await server.stop(config.grace_seconds)
