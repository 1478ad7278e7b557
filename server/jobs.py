"""Persisted jobs, driven from the server's event loop.

:class:`JobRunner` hands each job to a search process (:func:`aalps.server.workers.run_job`).
Pending jobs wait in a :class:`~aalps.server.job_queue.FairQueue` (owners in turn, small
jobs first); at most ``slots`` jobs of any size run at once, so that long jobs never take
every process from interactive calls, plus ``small_slots`` more lanes only for jobs of at
most ``limits.small_job_size`` trials x tasks, so small jobs are not starved behind long
ones. The worker writes the job's progress and final state into the store itself; the
runner only schedules, signals stops, and retries a job whose process died. On shutdown,
:meth:`JobRunner.drain` waits for running jobs, then interrupts them: they stay RUNNING
(or PENDING) in the store and the next start resumes them with a new attempt.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from aalps.server.errors import WorkerDiedError
from aalps.server.job_queue import FairQueue, estimated_size
from aalps.server.job_worker import run_job
from aalps.server.outcome import Limits
from aalps.server.pool import SearchPool
from aalps.server.stop_flags import StopHandle
from aalps.server.store import JobRecord, JobStore

__all__ = ["INTERRUPT_SECONDS", "JobRunner", "WORKER_RETRIES"]

_log = logging.getLogger(__name__)

#: Times a job is handed to a fresh process after its process died, before giving up
#: until the next server start.
WORKER_RETRIES = 2
#: Seconds an interrupted job's search gets to stop by itself at shutdown.
INTERRUPT_SECONDS = 2.0


class JobRunner:
    """Schedules jobs on the search pool and stops them.

    Parameters
    ----------
    pool
        The search processes.
    store
        The job store (read to retry a job whose process died).
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
        self._closing = False

    def submit(self, job: JobRecord, size: int | None = None) -> None:
        """Queue a PENDING job (or resume an unfinished one) unless it is already queued.

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
        try:
            await self._run_with_retries(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("job %s could not run; it resumes on the next start", job.job_id)
        finally:
            self._stops.pop(job.job_id, None)

    async def _run_with_retries(self, job: JobRecord) -> None:
        attempts_seen = job.attempts
        for retry in range(WORKER_RETRIES + 1):
            handle = self._pool.stop_handle()
            self._stops[job.job_id] = handle
            try:
                state = await self._pool.run_stoppable(
                    run_job,
                    job.job_id,
                    self._url,
                    self._prefix,
                    attempts_seen,
                    self._limits,
                    stop=handle,
                )
                _log.info("job %s: %s", job.job_id, state or "owned by another worker")
                return
            except WorkerDiedError:
                if retry == WORKER_RETRIES or self._closing:
                    raise
                current = await asyncio.to_thread(self._store.get, job.job_id, job.owner)
                if current is None or current.state.final:
                    return
                attempts_seen = current.attempts

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` for queued and running jobs, then interrupt the rest.

        An interrupted search gets :data:`INTERRUPT_SECONDS` to stop by itself; the pool's
        shutdown kills it after that. Either way its job stays RUNNING (or PENDING) in
        the store, and every write it made was a whole transaction.
        """
        self._closing = True
        self._queue.clear()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for handle in list(self._stops.values()):
            handle.set()  # without a cancel flag in the store: the worker leaves it RUNNING
        remaining = [t for t in self._tasks.values() if not t.done()]
        if remaining:
            _log.info("interrupting %d job(s); they resume on the next start", len(remaining))
            await asyncio.wait(remaining, timeout=INTERRUPT_SECONDS)
