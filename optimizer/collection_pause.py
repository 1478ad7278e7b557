"""Fewer and cheaper garbage collections while a search runs: the optimizer allocates
millions of short-lived records (outcomes, candidates, tuples) and frees them by reference
counting; the cyclic collector finds almost nothing, yet its full passes walk every live
object (the sympy caches, the modules, every evaluator's outcomes): 10–20% of a 1,000-task
optimize.

:func:`fewer_collections` raises the collector's thresholds while at least one search runs
in the process, and moves the objects that were alive when the first search began to the
collector's permanent generation (:func:`gc.freeze`), so that a full pass during the search
walks only what the search made (about 11% of a 1,000-task optimize, 5% of a 50-task one,
measured in one run against the thresholds alone). A counter makes overlapping searches in
threads restore both once, when the last one ends. Collection is only deferred, never
disabled: cycles made during a search are freed by its passes or the first one after it,
and cycles among the frozen objects once they are unfrozen. A process that froze objects
itself (a server after start-up) keeps its own freeze: then nothing is frozen or unfrozen
here.

The first threshold (a million more container objects than the last pass left) is above
what a 1,000-task, 10-model search holds at once, so a search of that size runs without a
pass: what it made is freed by reference counting when it ends (:func:`.api.optimize` drops
its evaluator inside the search, before the thresholds come back), and the one pass after it
walks only what outlives it (the process's memos, the result: ~150,000 objects there, 0.04 s,
where 49 passes at a threshold of 50,000 had walked the evaluator's figures as they grew,
0.08 s). It still bounds the cyclic garbage a long search can leave unreclaimed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SEARCH_THRESHOLDS", "fewer_collections"]

#: The collector's thresholds (generation 0, 1, 2) while a search runs.
SEARCH_THRESHOLDS = (1_000_000, 20, 100)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = gc.get_threshold()
_froze = False  # whether the first running search froze the objects alive before it


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the body with :data:`SEARCH_THRESHOLDS` and the objects alive before it frozen
    (the previous thresholds restored, and the objects unfrozen, after the last search)."""
    global _active, _saved, _froze
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*SEARCH_THRESHOLDS)
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
                if _froze:
                    gc.unfreeze()
                    _froze = False
