"""Test-only hooks for the validation processes (never reachable from the wire).

:func:`pin_marked_requests` is passed to :class:`aalps.server.validation.ValidationPool` by
the tests that build a server: in each validation process, it makes the loading of any
request whose graph is named :data:`PIN_NAME` spin in pure Python forever, as a
pathological expression that got past the parser would. Search processes are untouched.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PIN_NAME", "pin_marked_requests"]

#: ``graph.name`` of a request whose validation never ends (with the hook installed).
PIN_NAME = "pin-the-validator"


def pin_marked_requests() -> None:
    """Wrap the loader of this (validation) process so marked requests never finish."""
    from aalps.server import workers

    load = workers.request_from_message

    def pinned(message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.graph.name == PIN_NAME:
            spins = 0
            while True:  # pure Python: holds the GIL, as a runaway evaluation would
                spins += 1
        return load(message, *args, **kwargs)

    workers.request_from_message = pinned
