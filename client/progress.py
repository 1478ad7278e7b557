"""A one-line progress display on stderr for long work (optimize, batch, watch).

It is drawn only when stderr is a terminal (and not disabled with ``--no-progress``), so
piped or captured output never contains control characters. Until the first update (a
remote Optimize sends none) it shows the elapsed time, redrawn by a small thread.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 24
_TICK_SECONDS = 0.25


class ProgressBar:
    """Shows ``label [=====>    ] done/total unit  note  elapsed`` on one redrawn line."""

    def __init__(
        self,
        label: str,
        *,
        unit: str = "trials",
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = self._stream.isatty() if enabled is None else enabled
        self._label = label
        self._unit = unit
        self._done = 0
        self._total = 0
        self._note = ""
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def update(self, done: int, total: int, note: str = "") -> None:
        """Record progress (``total`` 0: unknown) and redraw."""
        with self._lock:
            self._done, self._total, self._note = done, total, note
        self._draw()

    def println(self, text: str, stream: TextIO | None = None) -> None:
        """Print a line of output (default: stdout) above the bar, then redraw the bar."""
        target = stream if stream is not None else sys.stdout
        if self.enabled:
            with self._lock:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
        target.write(text + "\n")
        target.flush()
        self._draw()

    def _line(self) -> str:
        elapsed = f"{time.monotonic() - self._start:.1f}s"
        with self._lock:
            done, total, note = self._done, self._total, self._note
        if total > 0:
            filled = min(_WIDTH, _WIDTH * done // total)
            arrow = ">" if filled < _WIDTH else ""
            bar = "[" + "=" * filled + arrow + " " * (_WIDTH - filled - len(arrow)) + "]"
            counts = f"{done}/{total} {self._unit}"
        else:
            bar = "[" + "-\\|/"[int(time.monotonic() / _TICK_SECONDS) % 4] + "]"
            counts = f"{done} {self._unit}" if done else ""
        parts = [self._label, bar, counts, note, elapsed]
        return "  ".join(p for p in parts if p)

    def _draw(self) -> None:
        if not self.enabled:
            return
        line = self._line()
        with self._lock:
            self._stream.write("\r\x1b[K" + line)
            self._stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(_TICK_SECONDS):
            self._draw()

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick, name="aalps-progress", daemon=True)
            self._ticker.start()
            self._draw()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.enabled:
            with self._lock:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
