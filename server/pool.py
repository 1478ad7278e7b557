"""The search processes, seen from the server's event loop.

:class:`SearchPool` owns a ``ProcessPoolExecutor`` (spawn start method: a forked child
would inherit gRPC's threads and locks) and a ``multiprocessing`` Manager whose Events
carry stop signals into running searches. Both are created before any gRPC object.
Awaiting a call never blocks the loop; cancelling the awaiting task, or reaching the
deadline, sets the call's stop event, and the search ends at its next check
(``should_stop`` -> ``study.stop()``), which frees the process for the next call.

This module is imported by the Manager's process too, so it imports nothing heavy at
module level.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.managers import SyncManager
from typing import Any, Protocol, TypeVar

from server.errors import DeadlineExceededError, WorkerDiedError

_log = logging.getLogger(__name__)

T = TypeVar("T")


class StopEvent(Protocol):
    """A Manager Event proxy: set by the server, read by a search process."""

    def set(self) -> None: ...

    def clear(self) -> None: ...

    def is_set(self) -> bool: ...


def init_manager_process() -> None:
    """Initializer of the Manager's process: ignore Ctrl-C, exit with the server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: Any) -> None:
    parent.join()
    os._exit(0)


class SearchPool:
    """Spawned search processes plus the stop events that reach into them.

    Args:
        workers: Number of search processes.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._manager = SyncManager(ctx=self._context)
        self._manager.start(initializer=init_manager_process)
        self._executor = self._new_executor()
        self._spare_events: list[StopEvent] = []
        self._lock = threading.Lock()
        self._closed = False
        self._warming = self._start_processes()

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        from server.workers import init_search_process

        return concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=self._context, initializer=init_search_process
        )

    # --- stop events --------------------------------------------------------------------

    def event(self) -> StopEvent:
        """A cleared stop event (recycled when possible: creating one costs a round trip)."""
        with self._lock:
            if self._spare_events:
                return self._spare_events.pop()
        event: StopEvent = self._manager.Event()
        return event

    def recycle(self, event: StopEvent) -> None:
        """Return an event no process reads any more (its call ended without a stop)."""
        if not event.is_set():
            with self._lock:
                self._spare_events.append(event)

    # --- calls --------------------------------------------------------------------------

    def _start_processes(self) -> list[concurrent.futures.Future[int]]:
        """Make every process start now (each imports the optimizer: seconds)."""
        from server.workers import warm_up

        return [self._executor.submit(warm_up) for _ in range(self.workers)]

    async def warm_up(self) -> None:
        """Until every process has started (they began in the constructor)."""
        try:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._warming))
        except BrokenProcessPool as error:
            raise WorkerDiedError("a search process failed to start") from error

    async def run(self, fn: Callable[..., T], *args: Any, deadline: float | None = None) -> T:
        """``fn(*args)`` in a search process; DeadlineExceededError past ``deadline``.

        A call still queued when it is cancelled or times out never runs. A process
        that dies (killed, out of memory) breaks the executor: it is replaced and the
        call fails with :class:`WorkerDiedError` (UNAVAILABLE: the client may retry).
        """
        executor = self._executor
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(executor, fn, *args)
            if deadline is None:
                return await future
            return await asyncio.wait_for(future, max(0.0, deadline - time.time()))
        except TimeoutError:
            raise DeadlineExceededError("deadline exceeded") from None
        except BrokenProcessPool as error:
            self._replace(executor)
            raise WorkerDiedError("a search process died; the call may be retried") from error

    async def run_stoppable(
        self, fn: Callable[..., T], *args: Any, deadline: float | None = None
    ) -> T:
        """``fn(*args, stop_event, deadline)``: cancelling or timing out stops the search."""
        stop = self.event()
        try:
            result = await self.run(fn, *args, stop, deadline, deadline=deadline)
        except BaseException:
            stop.set()  # the search may still be running: it stops at its next check
            raise
        self.recycle(stop)
        return result

    def _replace(self, broken: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken and not self._closed:
                _log.error("a search process died; starting a new pool")
                self._executor = self._new_executor()
                self._warming = self._start_processes()
        broken.shutdown(wait=False, cancel_futures=True)

    # --- shutdown -----------------------------------------------------------------------

    def shutdown(self, timeout: float) -> None:
        """Stop the processes: wait up to ``timeout`` for running calls, then kill them.

        Blocking: call it from a thread (``asyncio.to_thread``).
        """
        with self._lock:
            self._closed = True
            executor = self._executor
        processes = list(getattr(executor, "_processes", {}).values())
        waiter = threading.Thread(
            target=executor.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True
        )
        waiter.start()
        waiter.join(timeout)
        if waiter.is_alive():
            _log.warning("search processes did not stop within %.1fs; killing them", timeout)
            for process in processes:
                process.kill()
            waiter.join(5.0)
        self._manager.shutdown()
