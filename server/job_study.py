"""A job's Optuna study across attempts: one study per job, continued on every resume.

A job's search writes its trials to the study ``aalps-job-<id>`` in the job store's
database (the optimizer copies finished trials there in batches,
:mod:`aalps.optimizer.study_mirror`, and continues a study that already has trials). When
a replica takes over a job, :func:`resume_study` prepares that study first:

- trials a dead owner left RUNNING are failed (the lease guarantees that owner is gone or
  fenced off: no one else writes this study now). Optuna's own heartbeat
  (``RDBStorage(heartbeat_interval=...)`` with ``fail_stale_trials``) would do the same
  after a grace period, but the lease already says when the owner is gone. They are not
  re-enqueued: the optimizer copies only *finished* trials, so a RUNNING trial can only
  come from an older writer, and a WAITING trial in the stored study would be copied
  into the working study, run there, and come back as a second trial;
- search trials already COMPLETE are counted, so the resumed search runs only what is
  left of ``n_trials`` (the plans a finished search records, user attribute ``kind`` in
  :data:`~aalps.optimizer.search.RECORDED_KINDS`, are not search trials and do not count).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["STALE_REASON", "resume_study", "study_name"]

_log = logging.getLogger(__name__)

#: The system attribute a failed stale trial carries (why it failed).
STALE_REASON = "aalps:failed_because"


def study_name(job_id: str) -> str:
    """The job's study: the same name on every attempt, so a resume continues it."""
    return f"aalps-job-{job_id}"


def resume_study(storage: Any, name: str) -> int:
    """Fail the study's RUNNING trials; the number of its COMPLETE search trials (0 if new).

    Parameters
    ----------
    storage
        An Optuna storage (``optuna.storages.BaseStorage``).
    name
        The study's name (:func:`study_name`).
    """
    from aalps.optimizer.search import RECORDED_KINDS
    from optuna.trial import TrialState

    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return 0
    complete = 0
    for trial in storage.get_all_trials(study_id, deepcopy=False):
        if trial.state == TrialState.COMPLETE:
            complete += trial.user_attrs.get("kind") not in RECORDED_KINDS
        elif trial.state == TrialState.RUNNING:
            trial_id = trial._trial_id
            storage.set_trial_system_attr(trial_id, STALE_REASON, "owner lost its lease")
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
            _log.info("study %s: trial %d was left RUNNING; failed", name, trial.number)
    return complete
