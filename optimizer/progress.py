"""Progress, cancellation and the time budget of one optimization, in one place.

Every phase reports through a :class:`Reporter`: it calls the caller's ``progress`` at the
start, on every improvement and trial, and at the end; it asks ``should_stop`` (and
remembers a yes) and keeps the deadline that ``search.timeout_seconds`` sets.

Counters are honest: ``trials_done`` counts the trials the search evaluated, never the plans
recorded into the study after it (the optimum, the baseline: :meth:`Reporter.recorded`), so
a progress line never reads ``201/201`` for 200 trials; a search that stops before
``n_trials`` says why in ``stop_reason``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aalps.optimizer.result import Progress

__all__ = ["Reporter"]


class Reporter:
    """Reports progress to, and takes stop requests from, the caller of ``optimize``."""

    def __init__(
        self,
        progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        timeout_seconds: float | None,
    ) -> None:
        self._progress = progress
        self._should_stop = should_stop
        self._stopped = False
        self.started = time.monotonic()
        self.deadline = None if timeout_seconds is None else self.started + timeout_seconds
        self.n_trials = 0
        self.trials_done = 0
        self.best: float | None = None
        #: Why the trial search ended before the trials it expected ("" when it did not).
        self.stop_reason = ""
        #: Called after every trial (the study mirror's checkpoint), when set.
        self.on_trial: Callable[[], None] | None = None

    def report(self) -> None:
        if self._progress is not None:
            self._progress(Progress(self.trials_done, self.n_trials, self.best))

    def expect(self, n_trials: int) -> None:
        """The search now expects ``n_trials`` more trials."""
        self.n_trials = self.trials_done + n_trials

    def offer(self, expected_cost: float) -> None:
        """A feasible plan of this cost was found; report it if it improves the best."""
        if self.best is None or expected_cost < self.best:
            self.best = expected_cost
            self.report()

    def trial_done(self) -> None:
        self.trials_done += 1
        self.n_trials = max(self.n_trials, self.trials_done)
        self.report()
        if self.on_trial is not None:
            self.on_trial()

    def recorded(self) -> None:
        """A plan was recorded into the study (not a trial the search evaluated)."""
        if self.on_trial is not None:
            self.on_trial()

    def stopped_early(self, reason: str) -> None:
        """The trial search ends here, before its expected trials, because of ``reason``."""
        self.stop_reason = self.stop_reason or reason

    def stop_requested(self) -> bool:
        if not self._stopped and self._should_stop is not None and self._should_stop():
            self._stopped = True
        return self._stopped

    def seconds_left(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def reserving(self, seconds: float) -> float | None:
        """The deadline moved ``seconds`` earlier (at most half the budget) for a phase that
        must leave time to the work after it; None without a deadline."""
        if self.deadline is None:
            return None
        return self.deadline - min(seconds, (self.deadline - self.started) / 2)

    def out_of_time(self) -> bool:
        left = self.seconds_left()
        return left is not None and left <= 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started
