"""A job store in a dict: for tests and for a throw-away single-process server.

It follows the :class:`~aalps.server.store.JobStore` contract exactly (the shared contract
suite runs against it), but it lives in one process: worker processes cannot see it, so
the server itself always uses :class:`~aalps.server.store_sql.SqlJobStore`.
"""

from __future__ import annotations

import builtins
import dataclasses
import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from aalps.server.store import (
    Claim,
    JobFinishedError,
    JobPage,
    JobRecord,
    JobState,
    JobStore,
    check_same_request,
    decode_page_token,
    encode_page_token,
    new_job_id,
)

__all__ = ["InMemoryJobStore"]


class InMemoryJobStore(JobStore):
    """Jobs in a dict guarded by a lock; records are immutable, so reads copy nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[int, JobRecord]] = {}
        self._seq = itertools.count(1)
        self._claims: dict[str, list[Claim]] = {}

    def create(
        self, *, owner: str, request_json: str, n_trials: int, request_id: str = ""
    ) -> JobRecord:
        now = datetime.now(UTC)
        job = JobRecord(
            job_id=new_job_id(),
            owner=owner,
            state=JobState.PENDING,
            create_time=now,
            update_time=now,
            request_json=request_json,
            n_trials=n_trials,
            request_id=request_id,
        )
        with self._lock:
            known = self._find_request(owner, request_id) if request_id else None
            if known is not None:
                return check_same_request(known, request_json)
            self._jobs[job.job_id] = (next(self._seq), job)
        return job

    def find_request(self, owner: str, request_id: str) -> JobRecord | None:
        with self._lock:
            return self._find_request(owner, request_id)

    def _find_request(self, owner: str, request_id: str) -> JobRecord | None:
        return next(
            (
                job
                for _, job in self._jobs.values()
                if job.owner == owner and job.request_id == request_id
            ),
            None,
        )

    def get(self, job_id: str, owner: str) -> JobRecord | None:
        with self._lock:
            entry = self._jobs.get(job_id)
        return entry[1] if entry and entry[1].owner == owner else None

    def list(
        self,
        owner: str,
        *,
        page_size: int,
        page_token: str = "",
        state: JobState | None = None,
    ) -> JobPage:
        after = decode_page_token(page_token, state)
        with self._lock:
            entries = sorted(self._jobs.values(), key=lambda e: e[0], reverse=True)
        matches = [
            (seq, job)
            for seq, job in entries
            if job.owner == owner
            and (state is None or job.state == state)
            and (after is None or seq < after)
        ]
        page = matches[:page_size]
        token = encode_page_token(page[-1][0], state) if len(matches) > page_size else ""
        return JobPage([job for _, job in page], token)

    def _update(self, job_id: str, check: Any, **changes: Any) -> JobRecord | None:
        """Apply ``changes`` atomically if ``check(job)`` holds; the updated job or None."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or not check(entry[1]):
                return None
            job = dataclasses.replace(entry[1], update_time=datetime.now(UTC), **changes)
            self._jobs[job_id] = (entry[0], job)
            return job

    def claimable(self, *, limit: int) -> builtins.list[JobRecord]:
        now = datetime.now(UTC)
        with self._lock:
            entries = sorted(self._jobs.values(), key=lambda e: e[0])
        return [job for _, job in entries if _claimable(job, now)][: max(0, limit)]

    def claim(self, job_id: str, *, owner: str, lease_seconds: float) -> JobRecord | None:
        with self._lock:
            entry = self._jobs.get(job_id)
            now = datetime.now(UTC)
            if entry is None or not _claimable(entry[1], now):
                return None
            old = entry[1]
            expires = now + timedelta(seconds=lease_seconds)
            job = dataclasses.replace(
                old,
                state=JobState.RUNNING,
                update_time=now,
                attempts=old.attempts + 1,
                lease_owner=owner,
                lease_expires=expires,
                fencing_token=old.fencing_token + 1,
            )
            self._jobs[job_id] = (entry[0], job)
            self._claims.setdefault(job_id, []).append(
                Claim(job_id, job.fencing_token, owner, now, expires)
            )
            return job

    def renew(self, job_id: str, *, token: int, lease_seconds: float) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or not _current(entry[1], token):
                return False
            expires = datetime.now(UTC) + timedelta(seconds=lease_seconds)
            self._jobs[job_id] = (entry[0], dataclasses.replace(entry[1], lease_expires=expires))
            self._end_claim(job_id, token, expires)
            return True

    def release(self, job_id: str, *, token: int) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or not _current(entry[1], token):
                return False
            now = datetime.now(UTC)
            old = entry[1]
            job = dataclasses.replace(
                old,
                state=JobState.PENDING,
                update_time=now,
                attempts=max(0, old.attempts - 1),
                lease_owner="",
                lease_expires=None,
            )
            self._jobs[job_id] = (entry[0], job)
            self._end_claim(job_id, token, now)
            return True

    def _end_claim(self, job_id: str, token: int, ended_at: datetime) -> None:
        """Move the lease history's end of claim ``token`` (caller holds the lock)."""
        history = self._claims.get(job_id, [])
        for i, claim in enumerate(history):
            if claim.token == token:
                history[i] = dataclasses.replace(claim, ended_at=ended_at)

    def claims(self, job_id: str) -> builtins.list[Claim]:
        with self._lock:
            return list(self._claims.get(job_id, []))

    def update_progress(
        self,
        job_id: str,
        *,
        token: int,
        trials_done: int,
        best_expected_cost: float | None,
    ) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or not _current(entry[1], token):
                return False
            old = entry[1]
            best = old.best_expected_cost
            if best_expected_cost is not None and (best is None or best_expected_cost < best):
                best = best_expected_cost
            job = dataclasses.replace(
                old,
                trials_done=max(old.trials_done, trials_done),
                best_expected_cost=best,
                update_time=datetime.now(UTC),
            )
            self._jobs[job_id] = (entry[0], job)
            return True

    def request_cancel(self, job_id: str, owner: str) -> JobRecord | None:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or entry[1].owner != owner:
                return None
            old = entry[1]
            if old.state.final:
                raise JobFinishedError(old)
            state = JobState.CANCELLED if old.state == JobState.PENDING else old.state
            job = dataclasses.replace(
                old, state=state, cancel_requested=True, update_time=datetime.now(UTC)
            )
            self._jobs[job_id] = (entry[0], job)
            return job

    def cancel_requested(self, job_id: str, token: int | None = None) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
        if entry is None or entry[1].cancel_requested or entry[1].state != JobState.RUNNING:
            return True
        return token is not None and entry[1].fencing_token != token

    def finish(self, job_id: str, *, token: int, result_json: str) -> bool:
        return self._finalize(job_id, token, state=JobState.SUCCEEDED, result_json=result_json)

    def fail(
        self, job_id: str, *, token: int, code: int, message: str, result_json: str = ""
    ) -> bool:
        return self._finalize(
            job_id,
            token,
            state=JobState.FAILED,
            error_code=code,
            error_message=message,
            result_json=result_json,
        )

    def cancel(self, job_id: str, *, token: int, result_json: str = "") -> bool:
        return self._finalize(job_id, token, state=JobState.CANCELLED, result_json=result_json)

    def _finalize(self, job_id: str, token: int, **changes: Any) -> bool:
        changes.update(lease_owner="", lease_expires=None)
        return self._update(job_id, lambda j: _current(j, token), **changes) is not None

    def unfinished(self) -> builtins.list[JobRecord]:
        with self._lock:
            entries = sorted(self._jobs.values(), key=lambda e: e[0])
        return [job for _, job in entries if not job.state.final]


def _current(job: JobRecord, token: int) -> bool:
    return job.state == JobState.RUNNING and job.fencing_token == token


def _claimable(job: JobRecord, now: datetime) -> bool:
    """PENDING, or RUNNING with a lease that has run out."""
    if job.state == JobState.PENDING:
        return True
    expires = job.lease_expires
    return job.state == JobState.RUNNING and (expires is None or expires <= now)
