"""The job store contract: persisted optimization jobs, free of protobuf.

A job's request and result are opaque JSON text (the servicer side writes the proto
messages' JSON form), so the store knows nothing of the wire. Two implementations pass
one shared test suite (``tests/server/test_store_contract.py``):
:class:`~aalps.server.store_memory.InMemoryJobStore` and
:class:`~aalps.server.store_sql.SqlJobStore` (SQLite by default, PostgreSQL by URL);
:func:`aalps.server.stores.open_store` picks one by URL (this module imports neither).

Concurrency model: any number of server replicas share one store. A replica claims a job
with a *lease* (:meth:`JobStore.claim`): its owner id, an expiry, and a *fencing token* that
grows on every claim, all set in one transaction. The owner renews the lease by heartbeat
(:meth:`JobStore.renew`); a job whose lease expired (its owner died) can be claimed by any
replica. Every write of a job's progress or outcome carries the writer's token and is
refused once another claim has happened, so a stale owner (paused, partitioned, or simply
slower than its expiry) can never overwrite the new owner's work. On a graceful stop the
owner gives the job back (:meth:`JobStore.release`): PENDING again, progress kept.
Every write is a single conditional statement (or one transaction), so a crashed writer or
bad input never leaves a job half-updated.
"""

from __future__ import annotations

import abc
import base64
import binascii
import builtins
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aalps.cost_models.errors import InvalidRequestError

from aalps.job_state import JobState

__all__ = [
    "Claim",
    "JobFinishedError",
    "JobPage",
    "JobRecord",
    "JobStore",
    "StoreUnavailableError",
    "check_same_request",
    "decode_page_token",
    "encode_page_token",
    "new_job_id",
]


@dataclass(frozen=True)
class JobRecord:
    """One job as stored: a snapshot, never a live object.

    Attributes
    ----------
    job_id
        Server-assigned id.
    owner
        The auth identity that submitted it ("" without auth).
    state
        Where the job is in its life cycle.
    create_time, update_time
        Timezone-aware UTC times of submission and last change.
    request_json
        The submitted request (JSON of the proto message).
    n_trials
        Trials planned.
    trials_done
        Trials completed so far (never decreases).
    best_expected_cost
        Best plan's expected cost so far (never increases); None until
        a feasible plan is found.
    result_json
        The result (JSON of the response message) once finished, else "".
    error_code
        A ``google.rpc.Code`` number when FAILED, else 0.
    error_message
        Why it FAILED.
    cancel_requested
        The caller asked to cancel; the worker stops at its next check.
    attempts
        Claims that did not give the job back (a takeover after a crash counts, a graceful
        release does not): :data:`~aalps.server.job_worker.MAX_ATTEMPTS` bounds it.
    lease_owner
        The replica holding the job's lease ("" when none does).
    lease_expires
        When the lease runs out unless renewed (None when no lease is held).
    fencing_token
        Grows by one on every claim; writes carrying an older token are refused.
    request_id
        The caller's id of the submission ("" when none): a retried SubmitJob with the
        same id returns this job.
    """

    job_id: str
    owner: str
    state: JobState
    create_time: datetime
    update_time: datetime
    request_json: str
    n_trials: int = 0
    trials_done: int = 0
    best_expected_cost: float | None = None
    result_json: str = ""
    error_code: int = 0
    error_message: str = ""
    cancel_requested: bool = False
    attempts: int = 0
    lease_owner: str = ""
    lease_expires: datetime | None = None
    fencing_token: int = 0
    request_id: str = ""


@dataclass(frozen=True)
class Claim:
    """One claim of a job, as the lease history records it (tests check that leases of
    distinct tokens never overlap).

    Attributes
    ----------
    job_id, token, owner
        The job, the fencing token the claim got, the replica that claimed.
    claimed_at
        When the claim happened.
    ended_at
        When the lease ended: its expiry as last renewed, or the time it was released.
    """

    job_id: str
    token: int
    owner: str
    claimed_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class JobPage:
    """One page of :meth:`JobStore.list`; ``next_page_token`` is "" on the last page."""

    jobs: Sequence[JobRecord]
    next_page_token: str = ""


class JobFinishedError(Exception):
    """Raised by :meth:`JobStore.request_cancel` for a job already in a final state."""

    def __init__(self, job: JobRecord) -> None:
        super().__init__(f"job {job.job_id} has already finished ({job.state})")
        self.job = job


class StoreUnavailableError(Exception):
    """The database could not be reached or stayed locked: retry later (UNAVAILABLE)."""


class JobStore(abc.ABC):
    """Persisted jobs. Every method is thread-safe and each write is atomic."""

    @abc.abstractmethod
    def create(
        self, *, owner: str, request_json: str, n_trials: int, request_id: str = ""
    ) -> JobRecord:
        """Called by SubmitJob once the request is valid. Returns the new PENDING job, or,
        when ``owner`` already has a job of that non-empty ``request_id``, that job
        (:func:`check_same_request` refuses one made from another request)."""

    @abc.abstractmethod
    def find_request(self, owner: str, request_id: str) -> JobRecord | None:
        """The job ``owner`` submitted with ``request_id`` (non-empty), if any."""

    @abc.abstractmethod
    def get(self, job_id: str, owner: str) -> JobRecord | None:
        """The job, or None if it does not exist or belongs to another owner."""

    @abc.abstractmethod
    def list(
        self,
        owner: str,
        *,
        page_size: int,
        page_token: str = "",
        state: JobState | None = None,
    ) -> JobPage:
        """The owner's jobs, newest first, ``page_size`` at a time.

        The order is stable (by creation sequence), so paging never skips or repeats a
        job even while new ones are submitted. ``page_token`` is the previous page's
        ``next_page_token``; a malformed one, or one made for another ``state`` filter,
        raises :class:`~aalps.cost_models.errors.InvalidRequestError` on ``page_token``.
        """

    @abc.abstractmethod
    def claimable(self, *, limit: int) -> builtins.list[JobRecord]:
        """Up to ``limit`` jobs a replica may claim now, oldest first: PENDING ones and
        RUNNING ones whose lease has expired (their owner died or stalled)."""

    @abc.abstractmethod
    def claim(self, job_id: str, *, owner: str, lease_seconds: float) -> JobRecord | None:
        """Claim the job for ``owner`` with a lease of ``lease_seconds``, in one transaction.

        Succeeds only if the job is PENDING or its lease has expired: it becomes RUNNING,
        ``fencing_token`` and ``attempts`` grow by one, and the claim is added to the lease
        history (:meth:`claims`). Returns the claimed job, or None (someone else holds it,
        or it is final). A claimed job may carry a cancel flag set before: its worker then
        cancels it at once.
        """

    @abc.abstractmethod
    def renew(self, job_id: str, *, token: int, lease_seconds: float) -> bool:
        """Extend the lease of the claim ``token`` to ``lease_seconds`` from now.

        Returns False when the job is no longer RUNNING under ``token`` (finished, or
        claimed by another replica after the lease expired): the caller must stop.
        """

    @abc.abstractmethod
    def release(self, job_id: str, *, token: int) -> bool:
        """Give the job back (graceful stop): RUNNING -> PENDING, lease cleared, progress
        kept, and the attempt not counted. Returns whether ``token`` still held it."""

    @abc.abstractmethod
    def claims(self, job_id: str) -> builtins.list[Claim]:
        """The job's lease history, by token."""

    @abc.abstractmethod
    def update_progress(
        self,
        job_id: str,
        *,
        token: int,
        trials_done: int,
        best_expected_cost: float | None,
    ) -> bool:
        """Record progress of a RUNNING job's current claim, monotonically.

        ``trials_done`` never decreases and ``best_expected_cost`` never increases. Returns
        whether the job is still RUNNING under ``token`` (False: the write was refused).
        """

    @abc.abstractmethod
    def request_cancel(self, job_id: str, owner: str) -> JobRecord | None:
        """Ask for cancellation; returns the job afterwards, None if unknown.

        A PENDING job becomes CANCELLED at once; a RUNNING one gets its cancel flag set
        and its worker finishes it. Raises :class:`JobFinishedError` when the job is
        already SUCCEEDED, FAILED or CANCELLED (nothing is changed).
        """

    def study_fence(self, job_id: str, token: int) -> Callable[[Any], bool] | None:
        """A check for the transaction that writes the job's Optuna trials (a session on
        the store's own database): true while ``token`` holds the job, the job row locked
        until that commit, so a claim waits for the write and a stale owner writes nothing.
        None where the store is not a database the study shares (memory)."""
        return None

    @abc.abstractmethod
    def cancel_requested(self, job_id: str, token: int | None = None) -> bool:
        """Whether the job should stop: cancel flag set, no longer RUNNING, or (with
        ``token``) claimed by someone else since."""

    @abc.abstractmethod
    def finish(self, job_id: str, *, token: int, result_json: str) -> bool:
        """RUNNING -> SUCCEEDED with the result, if ``token`` still holds the job."""

    @abc.abstractmethod
    def fail(
        self, job_id: str, *, token: int, code: int, message: str, result_json: str = ""
    ) -> bool:
        """RUNNING -> FAILED with a ``google.rpc.Code`` and message, if ``token`` still holds
        the job; ``result_json`` keeps a partial result (a job stopped by its time limit)."""

    @abc.abstractmethod
    def cancel(self, job_id: str, *, token: int, result_json: str = "") -> bool:
        """RUNNING -> CANCELLED, with the best result found before, if ``token`` still
        holds the job."""

    def count_active(self, owner: str, *, at_most: int) -> int:
        """The owner's PENDING and RUNNING jobs, counted up to ``at_most`` (a quota check).

        The default reads pages of :meth:`list`; a store may count in its database.
        """
        found = 0
        for state in (JobState.PENDING, JobState.RUNNING):
            found += len(self.list(owner, page_size=max(1, at_most), state=state).jobs)
        return min(found, at_most)

    @abc.abstractmethod
    def unfinished(self) -> builtins.list[JobRecord]:
        """PENDING and RUNNING jobs of every owner, oldest first."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections. The store must not be used afterwards."""


# --- page tokens --------------------------------------------------------------------------


def encode_page_token(after_seq: int, state: JobState | None) -> str:
    """An opaque token: the last sequence number shown and the filter it was made for."""
    raw = json.dumps({"after": after_seq, "state": state.value if state else ""})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, state: JobState | None) -> int | None:
    """The sequence number to continue after, None for the first page."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        made_for = data["state"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidRequestError.single(
            "page_token", "is not a token this server issued"
        ) from None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InvalidRequestError.single("page_token", "is not a token this server issued")
    if made_for != (state.value if state else ""):
        raise InvalidRequestError.single("page_token", "was issued for another state filter")
    return after


def new_job_id() -> str:
    """A random, URL-safe job id."""
    return uuid.uuid4().hex


def check_same_request(job: JobRecord, request_json: str) -> JobRecord:
    """``job`` (found by its request id) if it was made from ``request_json``; a reused
    request id with another request is the caller's mistake, named."""
    if job.request_json != request_json:
        raise InvalidRequestError.single(
            "request_id",
            f"already used for job {job.job_id}, submitted with a different request "
            "(a retry must resend the same request; a new job needs a new id)",
        )
    return job
