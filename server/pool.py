"""The search processes, seen from the server's event loop.

:class:`SearchPool` owns a ``ProcessPoolExecutor`` (spawn start method: a forked child
would inherit gRPC's threads and locks) and the shared stop flags
(:mod:`aalps.server.stop_flags`) that reach into running searches; both are created before any
gRPC object. Awaiting a call never blocks the loop. Cancelling the awaiting task, or
reaching the deadline, sets the call's stop flag, and the search ends at its next check
(``should_stop`` -> ``study.stop()``), which frees the process for the next call.

This module is imported by ``python -m aalps.server`` before the rest of the server (so that
the processes start importing the optimizer early): it imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from aalps.server.errors import DeadlineExceededError, WorkerDiedError
from aalps.server.stop_flags import StopFlags, StopHandle

__all__ = ["SearchPool", "T"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


class SearchPool:
    """Spawned search processes and the stop flags that reach into them.

    The processes start at once (each imports the optimizer, which takes seconds);
    :meth:`warm_up` waits until they have.

    Parameters
    ----------
    workers
        Number of search processes.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._context = multiprocessing.get_context("spawn")
        self.stop_flags = StopFlags(self._context)
        self._lock = threading.Lock()
        self._closed = False
        self._executor = self._new_executor()
        self._warming = self._start_processes()

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        from aalps.server.workers import init_search_process

        return concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=self._context,
            initializer=init_search_process,
            initargs=(self.stop_flags.array,),
        )

    def _start_processes(self) -> list[concurrent.futures.Future[int]]:
        from aalps.server.workers import warm_up

        return [self._executor.submit(warm_up) for _ in range(self.workers)]

    async def warm_up(self) -> None:
        """Until every process has started."""
        try:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._warming))
        except BrokenProcessPool as error:
            raise WorkerDiedError("a search process failed to start") from error

    # --- calls --------------------------------------------------------------------------

    def stop_handle(self) -> StopHandle:
        """A stop signal for a call that :meth:`run_stoppable` will run."""
        return self.stop_flags.acquire()

    async def run(self, fn: Callable[..., T], *args: Any, deadline: float | None = None) -> T:
        """``fn(*args)`` in a search process; DeadlineExceededError past ``deadline``.

        A call still queued when it is cancelled or times out never runs. A process
        that dies (killed, out of memory) breaks the executor: it is replaced and the
        call fails with :class:`WorkerDiedError` (UNAVAILABLE: the client may retry).
        """
        future = self._submit(fn, *args)
        return await self._wait(asyncio.wrap_future(future), deadline)

    async def run_stoppable(
        self,
        fn: Callable[..., T],
        *args: Any,
        deadline: float | None = None,
        stop: StopHandle | None = None,
        wait_deadline: float | None = None,
    ) -> T:
        """``fn(*args, stop_signal, deadline)``; cancelling or timing out stops the search.

        ``stop`` (from :meth:`stop_handle`) lets the caller stop the search later too;
        its slot is released once the process has returned. ``wait_deadline`` (default
        ``deadline``) is when the caller stops waiting (DeadlineExceededError) when it
        differs from the deadline the search is given.
        """
        handle = stop or self.stop_handle()
        try:
            future = self._submit(fn, *args, handle.signal, deadline)
        except BaseException:
            handle.release()
            raise
        future.add_done_callback(lambda _: handle.release())
        try:
            waited = deadline if wait_deadline is None else wait_deadline
            return await self._wait(asyncio.wrap_future(future), waited)
        except BaseException:
            handle.set()  # the search may still be running: it stops at its next check
            raise

    def _submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        executor = self._executor
        try:
            return executor.submit(fn, *args)
        except BrokenProcessPool as error:
            self._replace(executor)
            raise WorkerDiedError("a search process died; the call may be retried") from error

    async def _wait(self, future: asyncio.Future[T], deadline: float | None) -> T:
        executor = self._executor
        try:
            if deadline is None:
                return await future
            return await asyncio.wait_for(future, max(0.0, deadline - time.time()))
        except TimeoutError:
            raise DeadlineExceededError("deadline exceeded") from None
        except BrokenProcessPool as error:
            self._replace(executor)
            raise WorkerDiedError("a search process died; the call may be retried") from error

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
