"""The limits the service applies to every request and job, and their defaults.

One frozen record, :class:`Limits`, built from :class:`~aalps.server.config.ServerConfig`
(``config.limits``) and handed to the service core, the engines and the worker processes
(it pickles: plain numbers only). This module imports nothing, so reading a config or
starting a process stays cheap.

What each limit protects (issue 8: no request can pin, crash or slip past the service):

- ``max_tasks``, ``max_models``, ``max_trials``, ``max_trial_tasks``: the size of one
  request, checked on the message before any conversion (INVALID_ARGUMENT naming the field);
- ``validation_seconds``: loading and validating a request runs in a validation process
  that is killed past this time (INVALID_ARGUMENT naming ``request``);
- ``max_search_seconds``: a search call without a deadline (or with a later one) ends
  after this long with DEADLINE_EXCEEDED and the best plan found so far;
- ``max_job_seconds``: one attempt of a job searches at most this long (the job FAILS
  with DEADLINE_EXCEEDED, its result the best plan found);
- ``max_active_jobs``: PENDING plus RUNNING jobs of one owner (RESOURCE_EXHAUSTED);
- ``small_job_size``: jobs up to this many trials x tasks may use the job slot that long
  jobs never take (fair scheduling, :mod:`aalps.server.job_queue`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_ACTIVE_JOBS",
    "DEFAULT_MAX_JOB_SECONDS",
    "DEFAULT_MAX_SEARCH_SECONDS",
    "DEFAULT_MAX_TRIAL_TASKS",
    "DEFAULT_SMALL_JOB_SIZE",
    "DEFAULT_VALIDATION_SECONDS",
    "DEFAULT_VALIDATION_WORKERS",
    "Limits",
]

#: Trials x tasks of one request (``search.n_trials`` times ``graph.tasks``): the work a
#: search may ask for (one trial of a large graph can take seconds).
DEFAULT_MAX_TRIAL_TASKS = 5_000_000
#: Seconds loading and validating one request may take.
DEFAULT_VALIDATION_SECONDS = 10.0
#: Processes that validate requests (beside the search processes).
DEFAULT_VALIDATION_WORKERS = 2
#: Seconds a search call may take when the client sets no deadline, or a later one.
DEFAULT_MAX_SEARCH_SECONDS = 300.0
#: Seconds one attempt of a job may search.
DEFAULT_MAX_JOB_SECONDS = 3600.0
#: PENDING and RUNNING jobs one owner may have at once.
DEFAULT_MAX_ACTIVE_JOBS = 100
#: Estimated size (trials x tasks) up to which a job counts as small.
DEFAULT_SMALL_JOB_SIZE = 10_000


@dataclass(frozen=True)
class Limits:
    """Caps on one request and one job, as the server is configured.

    Attributes
    ----------
    max_tasks, max_models, max_trials
        Entries of ``graph.tasks`` and ``catalog.models``, and ``search.n_trials``.
    max_trial_tasks
        ``search.n_trials`` times the number of tasks.
    validation_seconds
        Time limit of one request's loading and validation.
    max_search_seconds
        Longest search call when the client's deadline is later or unset.
    max_job_seconds
        Longest search of one job attempt.
    max_active_jobs
        PENDING and RUNNING jobs per owner.
    small_job_size
        Largest estimated size (trials x tasks) of a small job.
    """

    max_tasks: int
    max_models: int
    max_trials: int
    max_trial_tasks: int = DEFAULT_MAX_TRIAL_TASKS
    validation_seconds: float = DEFAULT_VALIDATION_SECONDS
    max_search_seconds: float = DEFAULT_MAX_SEARCH_SECONDS
    max_job_seconds: float = DEFAULT_MAX_JOB_SECONDS
    max_active_jobs: int = DEFAULT_MAX_ACTIVE_JOBS
    small_job_size: int = DEFAULT_SMALL_JOB_SIZE
