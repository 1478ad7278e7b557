"""The caller's Optuna study, written in batches from an in-memory working study.

Against an RDB storage every ``suggest_*``, attribute and value of a trial commits on its
own (2–3 s a TPE trial on a job's database). The search therefore runs on an in-memory
study and :class:`StudyMirror` copies its finished trials to the caller's study: at the
end, and at checkpoints (every :data:`CHECKPOINT_TRIALS` trials or
:data:`CHECKPOINT_SECONDS` seconds) so that a running job still shows progress. Each copy
is one transaction on an :class:`optuna.storages.RDBStorage` (one commit, however many
trials); other storages get :meth:`optuna.Study.add_trials`.

A stored study that already has trials (a job resumed after a restart) is continued: its
trials seed the working study first, so samplers see them and numbering carries on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import optuna
from optuna.storages import RDBStorage
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial

__all__ = ["CHECKPOINT_SECONDS", "CHECKPOINT_TRIALS", "StudyMirror", "write_trials"]

#: A checkpoint copies the finished trials after this many new ones...
CHECKPOINT_TRIALS = 50
#: ... or after this many seconds since the last copy, whichever comes first.
CHECKPOINT_SECONDS = 5.0


class StudyMirror:
    """Copies a working study's finished trials to the caller's stored study."""

    def __init__(self, working: optuna.Study, stored: optuna.Study) -> None:
        self.working = working
        self.stored = stored
        existing = stored.get_trials(deepcopy=False)
        working.add_trials(existing)
        self.copied = len(existing)
        self.last = time.monotonic()

    def checkpoint(self) -> None:
        """Copy now when :data:`CHECKPOINT_TRIALS` or :data:`CHECKPOINT_SECONDS` have passed."""
        pending = len(self.working.get_trials(deepcopy=False)) - self.copied
        if pending >= CHECKPOINT_TRIALS or (
            pending > 0 and time.monotonic() - self.last >= CHECKPOINT_SECONDS
        ):
            self.sync()

    def sync(self) -> None:
        """Copy every finished trial not yet copied (up to the first unfinished one)."""
        trials = self.working.get_trials(deepcopy=False)[self.copied :]
        finished = []
        for trial in trials:
            if not trial.state.is_finished():
                break
            finished.append(trial)
        if finished:
            write_trials(self.stored, finished)
            self.copied += len(finished)
        self.last = time.monotonic()


def write_trials(study: optuna.Study, trials: Sequence[FrozenTrial]) -> None:
    """Add finished ``trials`` to ``study``: in one transaction on an RDB storage."""
    storage = _rdb(study._storage)
    if storage is None:
        study.add_trials(trials)
        return
    study_id = study._study_id
    with _create_scoped_session(storage.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        for trial in trials:
            storage._get_prepared_new_trial(study_id, trial, session)


def _rdb(storage: optuna.storages.BaseStorage) -> RDBStorage | None:
    """The RDB storage behind ``storage`` (Optuna wraps it in a cache), or None."""
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, RDBStorage) else None
