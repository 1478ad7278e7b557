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
from datetime import UTC, datetime
from typing import Any

from aalps.server.store import (
    JobFinishedError,
    JobPage,
    JobRecord,
    JobState,
    JobStore,
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

    def create(self, *, owner: str, request_json: str, n_trials: int) -> JobRecord:
        now = datetime.now(UTC)
        job = JobRecord(
            job_id=new_job_id(),
            owner=owner,
            state=JobState.PENDING,
            create_time=now,
            update_time=now,
            request_json=request_json,
            n_trials=n_trials,
        )
        with self._lock:
            self._jobs[job.job_id] = (next(self._seq), job)
        return job

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

    def start(self, job_id: str, *, attempts_seen: int) -> JobRecord | None:
        return self._update(
            job_id,
            lambda j: (
                j.state in (JobState.PENDING, JobState.RUNNING) and j.attempts == attempts_seen
            ),
            state=JobState.RUNNING,
            attempts=attempts_seen + 1,
        )

    def update_progress(
        self,
        job_id: str,
        *,
        attempt: int,
        trials_done: int,
        best_expected_cost: float | None,
    ) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or not _current(entry[1], attempt):
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

    def cancel_requested(self, job_id: str) -> bool:
        with self._lock:
            entry = self._jobs.get(job_id)
        return entry is None or entry[1].cancel_requested or entry[1].state != JobState.RUNNING

    def finish(self, job_id: str, *, attempt: int, result_json: str) -> bool:
        return self._finalize(job_id, attempt, state=JobState.SUCCEEDED, result_json=result_json)

    def fail(
        self, job_id: str, *, attempt: int, code: int, message: str, result_json: str = ""
    ) -> bool:
        return self._finalize(
            job_id,
            attempt,
            state=JobState.FAILED,
            error_code=code,
            error_message=message,
            result_json=result_json,
        )

    def cancel(self, job_id: str, *, attempt: int, result_json: str = "") -> bool:
        return self._finalize(job_id, attempt, state=JobState.CANCELLED, result_json=result_json)

    def _finalize(self, job_id: str, attempt: int, **changes: Any) -> bool:
        return self._update(job_id, lambda j: _current(j, attempt), **changes) is not None

    def unfinished(self) -> builtins.list[JobRecord]:
        with self._lock:
            entries = sorted(self._jobs.values(), key=lambda e: e[0])
        return [job for _, job in entries if not job.state.final]


def _current(job: JobRecord, attempt: int) -> bool:
    return job.state == JobState.RUNNING and job.attempts == attempt
