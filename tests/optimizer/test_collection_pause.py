"""The collector's state inside and after :func:`fewer_collections`: raised thresholds and
the older objects frozen while a search runs, everything as it was once the last one ends,
and a caller's own freeze left alone."""

from __future__ import annotations

import gc
import threading

from aalps.optimizer.collection_pause import SEARCH_THRESHOLDS, fewer_collections


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a


def test_thresholds_and_freeze_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    keep = [_Node() for _ in range(100)]
    with fewer_collections():
        assert gc.get_threshold() == SEARCH_THRESHOLDS
        assert gc.get_freeze_count() >= len(keep)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_a_search_are_collected_by_a_pass_in_it() -> None:
    gc.unfreeze()
    with fewer_collections():
        gc.collect()
        _cycle()
        assert gc.collect() >= 2  # the two nodes (and their dicts)


def test_cycles_frozen_at_the_start_are_freed_after_the_search() -> None:
    gc.unfreeze()
    gc.collect()
    _cycle()
    with fewer_collections():
        assert gc.collect() == 0  # frozen: not walked
    assert gc.collect() >= 2


def test_a_callers_own_freeze_is_kept() -> None:
    gc.unfreeze()
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        with fewer_collections():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_overlapping_searches_restore_once_the_last_one_ends() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with fewer_collections():
        thread.start()
        assert inside.wait(10)
    # The first search ended; the other still runs: still raised and frozen.
    assert gc.get_threshold() == SEARCH_THRESHOLDS
    assert gc.get_freeze_count() > 0
    release.set()
    thread.join(10)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
