"""The store's health: a periodic probe that turns the gRPC health status with it.

A server whose database is gone cannot submit, read or finish jobs, so it should say so
to load balancers and orchestrators: :class:`StoreMonitor` probes the store (one cheap
read) every :data:`PROBE_SECONDS`, and at once when a call has just met a store fault
(:meth:`StoreMonitor.notify`, thread-safe), and reports each change of reachability to
a callback (the server sets NOT_SERVING / SERVING).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["PROBE_SECONDS", "StoreMonitor"]

_log = logging.getLogger(__name__)

#: Seconds between two probes of a store.
PROBE_SECONDS = 1.0


class StoreMonitor:
    """Probes a store from the event loop and reports when its reachability changes.

    Parameters
    ----------
    probe
        Raises if the store cannot answer now (run in a thread; not retried).
    on_change
        Awaited with True when the store becomes reachable again, False when it stops
        being reachable (the first probe's result is taken as the starting state:
        reachable, the store having just been opened).
    interval
        Seconds between probes.
    """

    def __init__(
        self,
        probe: Callable[[], None],
        on_change: Callable[[bool], Awaitable[None]],
        *,
        interval: float = PROBE_SECONDS,
    ) -> None:
        self._probe = probe
        self._on_change = on_change
        self._interval = interval
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.reachable = True

    def start(self) -> None:
        """Start probing (call from the event loop)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="store-monitor")

    def notify(self, _error: BaseException | None = None) -> None:
        """A call met a store fault: probe now (safe from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(wake.set)

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            reachable = await self._check()
            if reachable != self.reachable:
                self.reachable = reachable
                if reachable:
                    _log.warning("job store reachable again: serving")
                await self._on_change(reachable)

    async def _check(self) -> bool:
        try:
            await asyncio.to_thread(self._probe)
        except Exception as error:  # noqa: BLE001 - any failure means not reachable
            if self.reachable:
                _log.error("job store unreachable: not serving (%s)", _one_line(error))
            return False
        return True


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
