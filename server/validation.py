"""The validation processes: every request is loaded and checked here, under a time limit.

Loading a request parses and evaluates its expressions. Something slow that gets past the
parser's own checks can pin a CPU in pure Python, and a thread cannot be stopped; run in a
search process it would also take a search slot. So the server validates each request
(Optimize, AnalyzePlan, SubmitJob, each BatchOptimize entry) in a small pool of its own
spawned processes before any search process is used:

- each *lane* is a one-process ``ProcessPoolExecutor``, so a lane can be killed without
  touching the validations running in the others;
- a validation that passes ``limits.validation_seconds`` gets its process killed and a new
  one started at once (it imports the loader while idle), and the call fails with
  INVALID_ARGUMENT naming the field (``request: validation did not finish within 10 s``):
  the request is too expensive to check, and retrying it would not help, so it is not
  reported as DEADLINE_EXCEEDED;
- a call cancelled mid-validation leaves its lane busy until the validation ends or its
  time limit passes (then the lane is killed as above), never longer.

Bad input is thus rejected in milliseconds and never occupies a search slot; a trivial
call is answered as soon as a lane is free.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from aalps.cost_models.errors import InvalidRequestError
from aalps.server.errors import DeadlineExceededError, WorkerDiedError

__all__ = ["ValidationPool", "init_validation_process", "warm_up"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


def init_validation_process(hook: Callable[[], None] | None) -> None:
    """Initializer of a validation process: the common set-up and the loader's imports.

    ``hook`` is called last; only code that builds a :class:`ValidationPool` can pass one
    (tests use it to make validation slow): nothing from the wire reaches it.
    """
    from aalps.server.workers import init_process

    init_process()
    import aalps.proto.convert  # noqa: F401

    if hook is not None:
        hook()


def warm_up() -> int:
    """A no-op that makes a lane start its process; returns its pid."""
    import os

    return os.getpid()


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _Lane:
    """One validation process (a one-worker executor)."""

    def __init__(self, context: Any, hook: Callable[[], None] | None) -> None:
        self.executor = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=context, initializer=init_validation_process, initargs=(hook,)
        )
        self.ready = self.executor.submit(warm_up)

    def kill(self) -> None:
        """Kill the process (whatever it runs) and drop the executor."""
        for process in list(getattr(self.executor, "_processes", {}).values()):
            process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)


class ValidationPool:
    """Spawned validation processes, each killed and replaced when it overruns.

    Parameters
    ----------
    workers
        Number of validation processes (lanes).
    hook
        Called in each process after its set-up (test-only: a picklable top-level
        function; never built from a request).
    """

    def __init__(self, workers: int, hook: Callable[[], None] | None = None) -> None:
        self.workers = max(1, workers)
        self._context = multiprocessing.get_context("spawn")
        self._hook = hook
        self._closed = False
        self._idle = [_Lane(self._context, hook) for _ in range(self.workers)]
        self._lanes = set(self._idle)
        self._free: asyncio.Semaphore | None = None
        self.kills = 0

    def _semaphore(self) -> asyncio.Semaphore:
        if self._free is None:
            self._free = asyncio.Semaphore(len(self._idle))
        return self._free

    async def warm_up(self) -> None:
        """Until every process has started."""
        futures = [asyncio.wrap_future(lane.ready) for lane in self._idle]
        try:
            await asyncio.gather(*futures)
        except BrokenProcessPool as error:
            raise WorkerDiedError("a validation process failed to start") from error

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout: float,
        field: str,
        deadline: float | None = None,
    ) -> T:
        """``fn(*args)`` in a validation process, killed past ``timeout`` seconds.

        Waiting for a free lane is bounded by the call's ``deadline`` (epoch seconds;
        DeadlineExceededError); running, by ``timeout`` (InvalidRequestError on ``field``).
        """
        free = self._semaphore()
        wait = None if deadline is None else max(0.0, deadline - time.time())
        try:
            await asyncio.wait_for(free.acquire(), wait)
        except TimeoutError:
            raise DeadlineExceededError("deadline exceeded waiting for validation") from None
        lane = self._take()
        try:  # a fresh lane's start-up is not the request's time
            await asyncio.shield(asyncio.wrap_future(lane.ready))
        except BrokenProcessPool as error:
            self._retire(lane)
            raise WorkerDiedError("a validation process failed to start") from error
        except asyncio.CancelledError:
            self._release(lane)
            raise
        future = lane.executor.submit(fn, *args)
        done_by = time.monotonic() + timeout
        running = asyncio.wrap_future(future)
        try:
            result = await asyncio.wait_for(asyncio.shield(running), timeout)
        except TimeoutError:
            running.add_done_callback(_consume)  # it fails with BrokenProcessPool: expected
            self._retire(lane)
            raise InvalidRequestError.single(
                field, f"validation did not finish within {timeout:g} s (validation_seconds)"
            ) from None
        except BrokenProcessPool as error:
            self._retire(lane)
            raise WorkerDiedError("a validation process died; the call may be retried") from error
        except asyncio.CancelledError:
            # The caller went away: the lane is busy until the validation ends or overruns.
            asyncio.get_running_loop().create_task(self._settle(lane, future, done_by))
            raise
        self._release(lane)
        return result

    async def _settle(self, lane: _Lane, future: concurrent.futures.Future[Any], by: float) -> None:
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), max(0.0, by - time.monotonic()))
        except (TimeoutError, BrokenProcessPool):
            self._retire(lane)
            return
        except Exception:  # noqa: BLE001, S110 - the call's own error: the lane is fine
            pass
        self._release(lane)

    def _take(self) -> _Lane:
        """An idle lane, one whose process has started if there is one."""
        lane = next((lane for lane in self._idle if lane.ready.done()), self._idle[0])
        self._idle.remove(lane)
        return lane

    def _release(self, lane: _Lane) -> None:
        self._idle.append(lane)
        self._semaphore().release()

    def _retire(self, lane: _Lane) -> None:
        """Kill the lane's process and put a fresh one in its place."""
        self.kills += 1
        _log.warning("a validation overran or died; restarting its process")
        lane.kill()
        self._lanes.discard(lane)
        if not self._closed:
            fresh = _Lane(self._context, self._hook)
            self._lanes.add(fresh)
            self._release(fresh)

    def shutdown(self) -> None:
        """Kill every validation process (validations are short: nothing to wait for)."""
        self._closed = True
        for lane in list(self._lanes):
            lane.kill()
        self._lanes.clear()
        self._idle.clear()
