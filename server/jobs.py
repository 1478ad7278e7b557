"""Persisted jobs, driven from the server's event loop: claimed under leases, run, handed back.

Every replica sharing a store runs a :class:`JobRunner`. It finds work two ways: jobs
submitted to this replica are queued at once, and every ``poll_seconds`` it reads the
store's claimable jobs (PENDING ones, and RUNNING ones whose lease expired because their
owner died) while it has a free lane. Queued jobs wait in a
:class:`~aalps.server.job_queue.FairQueue` (owners in turn, small jobs first); at most
``slots`` jobs of any size run at once, plus ``small_slots`` lanes only for jobs of at most
``limits.small_job_size`` trials x tasks.

A job leaves the queue only through :meth:`JobStore.claim <aalps.server.store.JobStore.claim>`:
a lease of ``lease_seconds`` with a fencing token, exclusive across replicas. While its
search runs (:func:`aalps.server.job_worker.run_job`, in a search process, writing the store
with the token), the runner renews the lease every ``lease_seconds / 3``; a renewal that
fails means another replica has the job, and the search is stopped. A search process that
dies is retried under the same claim (:data:`WORKER_RETRIES` times), then left for its
lease to expire, so any replica takes it over and ``attempts`` counts the crash.

Timings (defaults): a lease of 10 s, renewed every 3.3 s, polls every 2 s: a dead
replica's job is taken over at most ``lease_seconds + poll_seconds`` (12 s) after its
last renewal. On shutdown, :meth:`JobRunner.drain` stops claiming, stops every running
search at once (each keeps its trials in its study), and releases their leases (PENDING,
progress kept), so another replica continues them without waiting for an expiry.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import socket
import uuid

from aalps.server.errors import WorkerDiedError
from aalps.server.job_queue import FairQueue, estimated_size
from aalps.server.job_worker import run_job
from aalps.server.outcome import Limits
from aalps.server.pool import SearchPool
from aalps.server.stop_flags import StopHandle
from aalps.server.store import JobRecord, JobStore

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_POLL_SECONDS",
    "JobRunner",
    "WORKER_RETRIES",
    "replica_id",
]

_log = logging.getLogger(__name__)

#: Times a job is handed to a fresh process after its process died, before its lease is
#: left to expire.
WORKER_RETRIES = 2
#: Seconds a claim holds a job without renewal.
DEFAULT_LEASE_SECONDS = 10.0
#: Seconds between two reads of the store's claimable jobs.
DEFAULT_POLL_SECONDS = 2.0


def replica_id() -> str:
    """A name for this server process, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Claims jobs, runs them on the search pool, keeps their leases, and stops them.

    Parameters
    ----------
    pool
        The search processes.
    store
        The job store (claims, renewals, releases).
    storage_url
        The store's URL, for the worker processes to open it.
    table_prefix
        The store's table prefix.
    limits
        Request caps (re-checked by the worker: caps may change across restarts).
    slots
        Jobs of any size that may run at once.
    small_slots
        Further jobs that may run at once if their size is at most
        ``limits.small_job_size``.
    lease_seconds
        How long a claim holds a job without renewal.
    poll_seconds
        How often the store is read for claimable jobs.
    owner
        This replica's id in the leases (default: :func:`replica_id`).
    """

    def __init__(
        self,
        pool: SearchPool,
        store: JobStore,
        *,
        storage_url: str,
        table_prefix: str,
        limits: Limits,
        slots: int,
        small_slots: int = 0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        owner: str | None = None,
    ) -> None:
        self._pool = pool
        self._store = store
        self._url = storage_url
        self._prefix = table_prefix
        self._limits = limits
        self._capacity = {"any": max(1, slots), "small": max(0, small_slots)}
        self._running = {"any": 0, "small": 0}
        self._queue = FairQueue()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stops: dict[str, StopHandle] = {}
        self._held: dict[str, int] = {}  # job id -> fencing token of our claim
        self._closing = False
        self._poller: asyncio.Task[None] | None = None
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.owner = owner or replica_id()
        #: Job attempts this replica ended, by the state they ended in (for the metrics).
        self.ended: collections.Counter[str] = collections.Counter()

    def start(self) -> None:
        """Start polling the store for claimable jobs (from the serving event loop)."""
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll_forever(), name="job-poller")

    def submit(self, job: JobRecord, size: int | None = None) -> None:
        """Queue a claimable job unless it is already queued or running here.

        ``size`` is the job's estimated trials x tasks (None: read from its request).
        """
        if self._closing or job.job_id in self._tasks or job.job_id in self._queue:
            return
        self._queue.push(job, estimated_size(job) if size is None else size)
        self._dispatch()

    def stop(self, job_id: str) -> None:
        """Wake a running job's search at once (the store's cancel flag says why); a
        queued job is dropped (the store has cancelled it)."""
        if self._queue.remove(job_id):
            return
        handle = self._stops.get(job_id)
        if handle is not None:
            handle.set()

    @property
    def active(self) -> int:
        """Jobs queued or running in this process."""
        return len(self._tasks) + len(self._queue)

    @property
    def queued(self) -> int:
        """Jobs waiting here for a free lane."""
        return len(self._queue)

    @property
    def running(self) -> int:
        """Jobs claimed or running in this process."""
        return len(self._tasks)

    # --- finding work -------------------------------------------------------------------

    def _free_lanes(self) -> int:
        return sum(self._capacity.values()) - sum(self._running.values())

    async def _poll_forever(self) -> None:
        while not self._closing:
            try:
                await self.poll()
            except Exception:  # noqa: BLE001 - a database outage: try again next round
                _log.warning("could not read claimable jobs", exc_info=True)
            await asyncio.sleep(self.poll_seconds)

    async def poll(self) -> None:
        """Queue the store's claimable jobs while this replica has free lanes."""
        free = self._free_lanes()
        if self._closing or free <= 0 or len(self._queue) >= free:
            return
        found = await asyncio.to_thread(self._claimable, free + len(self._tasks))
        for job, size in found:
            self.submit(job, size)

    def _claimable(self, limit: int) -> list[tuple[JobRecord, int]]:
        jobs = self._store.claimable(limit=limit)
        return [(job, estimated_size(job)) for job in jobs if job.job_id not in self._tasks]

    # --- running ------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Start queued jobs while a lane is free."""
        while not self._closing:
            if self._running["any"] < self._capacity["any"]:
                lane, pending = "any", self._queue.pop()
            elif self._running["small"] < self._capacity["small"]:
                lane, pending = "small", self._queue.pop(self._limits.small_job_size)
            else:
                return
            if pending is None:
                return
            job = pending.job
            self._running[lane] += 1
            task = asyncio.create_task(self._run(job), name=f"job-{job.job_id}")
            self._tasks[job.job_id] = task
            task.add_done_callback(functools.partial(self._finished, job.job_id, lane))

    def _finished(self, job_id: str, lane: str, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(job_id, None)
        self._running[lane] -= 1
        self._dispatch()

    async def _run(self, job: JobRecord) -> None:
        if self._closing:
            return
        claimed = await asyncio.to_thread(
            self._store.claim, job.job_id, owner=self.owner, lease_seconds=self.lease_seconds
        )
        if claimed is None:
            return  # another replica holds it, or it is final
        token = claimed.fencing_token
        self._held[job.job_id] = token
        handle = self._pool.stop_handle()
        self._stops[job.job_id] = handle
        heartbeat = asyncio.create_task(self._heartbeat(job.job_id, token, handle))
        try:
            state = await self._run_with_retries(claimed, handle)
            _log.info("job %s: %s", job.job_id, state or "claimed by another replica")
            self.ended[state or "TAKEN_OVER"] += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("job %s could not run; its lease will expire", job.job_id)
        finally:
            heartbeat.cancel()
            self._stops.pop(job.job_id, None)
            if self._closing:  # a no-op once the job is final (only RUNNING is released)
                await self._release(job.job_id)
            self._held.pop(job.job_id, None)

    async def _run_with_retries(self, job: JobRecord, handle: StopHandle) -> str:
        for retry in range(WORKER_RETRIES + 1):
            try:
                state = await self._pool.run_stoppable(
                    run_job, job, self._url, self._prefix, self._limits, stop=handle
                )
                return str(state)
            except WorkerDiedError:
                if retry == WORKER_RETRIES or self._closing:
                    raise
                _log.warning("job %s: its search process died; retrying", job.job_id)
                handle = self._pool.stop_handle()
                self._stops[job.job_id] = handle
        return ""

    async def _heartbeat(self, job_id: str, token: int, handle: StopHandle) -> None:
        """Renew the lease every third of it; stop the search when it is lost."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                held = await asyncio.to_thread(
                    self._store.renew, job_id, token=token, lease_seconds=self.lease_seconds
                )
            except Exception:  # noqa: BLE001 - an outage: the lease may still hold
                _log.warning("job %s: could not renew its lease", job_id, exc_info=True)
                continue
            if not held:
                _log.info("job %s: lease lost (finished or taken over); stopping", job_id)
                self._held.pop(job_id, None)
                (self._stops.get(job_id) or handle).set()
                return

    async def _release(self, job_id: str) -> None:
        token = self._held.pop(job_id, None)
        if token is None:
            return
        with contextlib.suppress(Exception):
            if await asyncio.to_thread(self._store.release, job_id, token=token):
                _log.info("job %s: released for another replica", job_id)

    # --- shutdown -----------------------------------------------------------------------

    async def drain(self, timeout: float) -> None:
        """Stop claiming, stop every running search, and release the jobs' leases.

        Each search stops at its next check (its trials so far are in its study); the
        runner releases a job's lease once its search returned, and after ``timeout``
        those of searches still running (the pool's shutdown kills them). Released
        jobs are PENDING with their progress: another replica continues them at once.
        """
        self._closing = True
        self._queue.clear()
        if self._poller is not None:
            self._poller.cancel()
        for handle in list(self._stops.values()):
            handle.set()  # without a cancel flag in the store: the worker leaves the job
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            _log.info("stopping %d job(s); they are released for other replicas", len(tasks))
            await asyncio.wait(tasks, timeout=timeout)
        for job_id in list(self._held):
            await self._release(job_id)
