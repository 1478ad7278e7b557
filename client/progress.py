"""A one-line progress display on stderr for long work (optimize, batch, watch).

It is drawn only when stderr is a terminal (and not disabled with ``--no-progress``), so
piped or captured output never contains control characters. The line is fitted to the
terminal's width at every redraw (tqdm draws the bar and measures the text), so a narrow
terminal never wraps it into a new row per redraw. Until the first update (a
remote Optimize sends none) it shows the elapsed time, redrawn by a small thread.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from tqdm import tqdm
from tqdm.utils import disp_len, disp_trim

__all__ = ["ProgressBar"]

#: The bar's widest and narrowest (it is left out below that), in columns.
_WIDTH = 26
_MIN_BAR = 5
_TICK_SECONDS = 0.25
#: The terminal size assumed when none can be read.
_FALLBACK = (80, 24)


class ProgressBar:
    """Shows ``label  |█████▍    |  done/total unit  note  elapsed`` on one redrawn line."""

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
        """The bar's line, never wider than the terminal (less one column).

        A line as wide as the terminal wraps, and a carriage return then goes back to the
        start of its last row only: every redraw would leave a row behind. So the line is
        fitted to the width read at each redraw (``COLUMNS``, or the terminal's; a window
        may be resized): the bar shrinks first, then the elapsed time, the label and the
        note go, in that order; the counts stay. tqdm draws the bar and measures widths.
        """
        width = max(8, shutil.get_terminal_size(_FALLBACK).columns - 1)
        elapsed = time.monotonic() - self._start
        with self._lock:
            done, total, note = self._done, self._total, self._note
        if total > 0:
            counts = f"{done}/{total} {self._unit}"
        else:
            counts = f"{done} {self._unit}" if done else ""
        clock = tqdm.format_interval(elapsed)
        choices = (
            (self._label, (counts, note, clock)),
            (self._label, (counts, note)),
            ("", (counts, note)),
            ("", (counts,)),
        )
        for head, rest in choices:
            text = "  ".join(p for p in rest if p)
            room = width - disp_len(text) - (2 if text else 0)
            room -= disp_len(head) + 2 if head else 0
            if room >= (_MIN_BAR if total > 0 else 3):
                bar = self._bar(done, total, elapsed, min(_WIDTH, room))
                return "  ".join(p for p in (head, bar, text) if p)
        return str(disp_trim(counts or self._label, width))

    def _bar(self, done: int, total: int, elapsed: float, width: int) -> str:
        """``|████▍   |`` of ``width`` columns; a spinner while the total is unknown."""
        if total <= 0:
            return "[" + "-\\|/"[int(time.monotonic() / _TICK_SECONDS) % 4] + "]"
        return str(
            tqdm.format_meter(min(done, total), total, elapsed, ncols=width, bar_format="|{bar}|")
        )

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
