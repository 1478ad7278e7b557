"""Stop signals for running searches: one byte of shared memory per call in flight.

The server sets a call's byte (client cancelled, deadline passed, job cancelled, shutdown);
the search process reads it between trials. Reading is a memory access, so a search can
poll it as often as it likes, and a call costs no inter-process round trip (a Manager
Event costs two authenticated connections per call, about 9 ms, measured).

The array is created with the pool, before any gRPC object, and handed to every search
process by its initializer; a call carries only its slot number.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from typing import Any

__all__ = ["POLL_SECONDS", "SLOTS", "StopFlags", "StopHandle", "StopSignal", "Stopper", "install"]

_log = logging.getLogger(__name__)

#: Calls that can be stopped at once (queued or running); beyond it, deadline only.
SLOTS = 65536
#: Seconds between two reads of a slow stop source (the job store's cancel flag).
POLL_SECONDS = 0.2

_flags: Any = None  # the shared array, in a search process


def install(flags: Any) -> None:
    """In a search process (its initializer): remember the shared array."""
    global _flags
    _flags = flags


@dataclass(frozen=True)
class StopSignal:
    """What a search process receives: its slot. Picklable, two words."""

    slot: int

    def is_set(self) -> bool:
        return _flags is not None and bool(_flags[self.slot])


class StopFlags:
    """The server's side: allocates slots and sets them (thread-safe)."""

    def __init__(self, context: SpawnContext, size: int = SLOTS) -> None:
        self.array = context.RawArray("b", size)
        self._free = list(range(size - 1, -1, -1))
        self.lock = threading.Lock()

    def acquire(self) -> StopHandle:
        """A cleared slot (or a handle that cannot stop anything if all are taken)."""
        with self.lock:
            slot = self._free.pop() if self._free else None
        if slot is None:
            _log.warning("all stop slots are taken; this call stops at its deadline only")
        return StopHandle(self, slot)

    def _release(self, slot: int) -> None:
        self.array[slot] = 0
        self._free.append(slot)


class StopHandle:
    """One call's stop signal, seen from the server.

    :meth:`set` (event loop) and :meth:`release` (the executor's thread, once the
    process has returned) take the flags' lock, so a late ``set`` never lands in a slot
    already handed to another call.
    """

    def __init__(self, flags: StopFlags, slot: int | None) -> None:
        self._flags = flags
        self._slot = slot
        self.signal = None if slot is None else StopSignal(slot)

    def set(self) -> None:
        """Ask the search to stop at its next check."""
        with self._flags.lock:
            if self._slot is not None:
                self._flags.array[self._slot] = 1

    def release(self) -> None:
        """Free the slot: the search process has returned."""
        with self._flags.lock:
            if self._slot is not None:
                self._flags._release(self._slot)
                self._slot = None


class Stopper:
    """``should_stop`` for the optimizer: a stop flag, a deadline and an optional poll.

    The flag (shared memory) and the deadline are read on every call; the poll (e.g. the
    store's cancel flag, a database read) at most every :data:`POLL_SECONDS`. Once true,
    it stays true. ``expired`` says the deadline (not the flag or the poll) stopped it.
    """

    def __init__(
        self,
        stop: StopSignal | None,
        deadline: float | None,
        poll: Callable[[], bool] | None = None,
    ) -> None:
        self._stop = stop
        self._deadline = deadline
        self._poll = poll
        self._next = 0.0
        self.stopped = False
        self.expired = False

    def __call__(self) -> bool:
        if self.stopped:
            return True
        now = time.time()
        if self.signalled():
            self.stopped = True
        elif self._deadline is not None and now >= self._deadline:
            self.stopped = self.expired = True
        elif self._poll is not None and now >= self._next:
            self._next = now + POLL_SECONDS
            self.stopped = self._poll()
        return self.stopped

    def signalled(self) -> bool:
        """Whether the server set the stop flag."""
        return self._stop is not None and self._stop.is_set()
