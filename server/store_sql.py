"""The job store in SQL (SQLAlchemy 2 Core): an SQLite file by default, PostgreSQL by URL.

Two tables (:mod:`aalps.server.store_schema`), ``<prefix>jobs`` and the lease history
``<prefix>job_claims``, beside Optuna's own tables in the same database (so
``optuna-dashboard <url>`` shows every job's study). Several processes write it at once:
the server creates and cancels jobs, worker processes claim, advance and finish them.
Every write is one conditional ``UPDATE ... RETURNING`` (or one ``INSERT``) in its own
transaction, so writes never interleave half-way and a stale writer changes nothing.

SQLite specifics (the engine's set-up is :mod:`aalps.server.sql_engine`): ``BEGIN
IMMEDIATE`` for writes (a write transaction takes the lock up front, so two writers cannot
deadlock on an upgrade).

Claims: on PostgreSQL the row is selected ``FOR UPDATE SKIP LOCKED`` and updated in the
same transaction (a replica never waits on another's claim, it moves on); on SQLite the
write transaction already excludes every other writer, so the same select-then-update is
atomic. Lease times are the writers' wall clocks (replicas must keep them in sync, as NTP
does; the lease is seconds long, a skew of milliseconds does not matter).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from aalps.server.sql_engine import make_engine
from aalps.server.store import (
    Claim,
    JobFinishedError,
    JobPage,
    JobRecord,
    JobState,
    JobStore,
    StoreUnavailableError,
    check_same_request,
    decode_page_token,
    encode_page_token,
    new_job_id,
)
from aalps.server.store_schema import claims_table, jobs_table, migrate
from aalps.server.store_schema import record_from_row as _record
from sqlalchemy import exc
from sqlalchemy.engine import Connection

__all__ = ["P", "R", "SqlJobStore"]

P = ParamSpec("P")
R = TypeVar("R")


def _unavailable(method: Callable[P, R]) -> Callable[P, R]:
    """Turn a database outage (locked, unreachable) into :class:`StoreUnavailableError`."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise StoreUnavailableError(str(error.orig or error)) from error

    return wrapper


class SqlJobStore(JobStore):
    """Jobs in an SQL database.

    Parameters
    ----------
    url
        SQLAlchemy URL (``sqlite:///aalps.db``, ``postgresql+psycopg://...``).
    table_prefix
        Prefix of the table name (tests use a unique one per run).
    create
        Create the tables if missing (and add the lease columns to an older job
        table). The server does it once at start-up, under
        :func:`~aalps.server.store_schema.schema_lock`; worker processes open the store
        with ``create=False``.
    """

    def __init__(self, url: str, *, table_prefix: str = "aalps_", create: bool = True) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._metadata = sa.MetaData()
        self._t = jobs_table(self._metadata, table_prefix)
        self._claims = claims_table(self._metadata, table_prefix)
        if create:
            self._metadata.create_all(self._engine, checkfirst=True)
            migrate(self._engine, self._t, table_prefix)

    # --- plumbing ---------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self._engine.connect() as conn:
            if not self._sqlite:
                with conn.begin():
                    yield conn
                return
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    def _read(self, query: sa.Select[Any]) -> list[sa.Row[Any]]:
        with self._engine.connect() as conn:
            return list(conn.execute(query))

    def _update(self, where: sa.ColumnElement[bool], **values: Any) -> JobRecord | None:
        t = self._t
        statement = t.update().where(where).values(update_time=_now(), **values).returning(*t.c)
        with self._write() as conn:
            row = conn.execute(statement).first()
        return None if row is None else _record(row)

    def _current(self, job_id: str, token: int) -> sa.ColumnElement[bool]:
        t = self._t
        return sa.and_(
            t.c.job_id == job_id,
            t.c.state == JobState.RUNNING.value,
            t.c.fencing_token == token,
        )

    def _claimable(self, now: float) -> sa.ColumnElement[bool]:
        t = self._t
        expired = sa.or_(t.c.lease_expires.is_(None), t.c.lease_expires <= now)
        return sa.or_(
            t.c.state == JobState.PENDING.value,
            sa.and_(t.c.state == JobState.RUNNING.value, expired),
        )

    def _end_claim(self, conn: Connection, job_id: str, token: int, ended_at: float) -> None:
        c = self._claims
        conn.execute(
            c.update().where(c.c.job_id == job_id, c.c.token == token).values(ended_at=ended_at)
        )

    # --- the contract -----------------------------------------------------------------

    @_unavailable
    def create(
        self, *, owner: str, request_json: str, n_trials: int, request_id: str = ""
    ) -> JobRecord:
        if request_id:
            known = self.find_request(owner, request_id)
            if known is not None:
                return check_same_request(known, request_json)
        now = _now()
        values = {
            "job_id": new_job_id(),
            "owner": owner,
            "state": JobState.PENDING.value,
            "create_time": now,
            "update_time": now,
            "request_json": request_json,
            "n_trials": n_trials,
            "request_id": request_id,
        }
        try:
            with self._write() as conn:
                statement = self._t.insert().values(**values).returning(*self._t.c)
                row = conn.execute(statement).one()
        except exc.IntegrityError:
            known = self.find_request(owner, request_id) if request_id else None
            if known is None:
                raise
            return check_same_request(known, request_json)  # a concurrent retry won
        return _record(row)

    @_unavailable
    def find_request(self, owner: str, request_id: str) -> JobRecord | None:
        t = self._t
        rows = self._read(sa.select(t).where(t.c.owner == owner, t.c.request_id == request_id))
        return _record(rows[0]) if rows else None

    @_unavailable
    def get(self, job_id: str, owner: str) -> JobRecord | None:
        t = self._t
        rows = self._read(sa.select(t).where(t.c.job_id == job_id, t.c.owner == owner))
        return _record(rows[0]) if rows else None

    @_unavailable
    def list(
        self,
        owner: str,
        *,
        page_size: int,
        page_token: str = "",
        state: JobState | None = None,
    ) -> JobPage:
        after = decode_page_token(page_token, state)
        t = self._t
        query = sa.select(t).where(t.c.owner == owner)
        if state is not None:
            query = query.where(t.c.state == state.value)
        if after is not None:
            query = query.where(t.c.seq < after)
        rows = self._read(query.order_by(t.c.seq.desc()).limit(page_size + 1))
        page = rows[:page_size]
        token = encode_page_token(page[-1].seq, state) if len(rows) > page_size else ""
        return JobPage([_record(r) for r in page], token)

    @_unavailable
    def claimable(self, *, limit: int) -> builtins.list[JobRecord]:
        t = self._t
        rows = self._read(
            sa.select(t).where(self._claimable(_now())).order_by(t.c.seq).limit(max(0, limit))
        )
        return [_record(r) for r in rows]

    @_unavailable
    def claim(self, job_id: str, *, owner: str, lease_seconds: float) -> JobRecord | None:
        t, now = self._t, _now()
        chosen = (
            sa.select(t.c.seq)
            .where(t.c.job_id == job_id, self._claimable(now))
            .with_for_update(skip_locked=True)
        )
        expires = now + lease_seconds
        with self._write() as conn:
            seq = conn.execute(chosen).scalar()
            if seq is None:
                return None
            statement = (
                t.update()
                .where(t.c.seq == seq)
                .values(
                    state=JobState.RUNNING.value,
                    update_time=now,
                    attempts=t.c.attempts + 1,
                    lease_owner=owner,
                    lease_expires=expires,
                    fencing_token=t.c.fencing_token + 1,
                )
                .returning(*t.c)
            )
            job = _record(conn.execute(statement).one())
            conn.execute(
                self._claims.insert().values(
                    job_id=job_id,
                    token=job.fencing_token,
                    owner=owner,
                    claimed_at=now,
                    ended_at=expires,
                )
            )
        return job

    @_unavailable
    def renew(self, job_id: str, *, token: int, lease_seconds: float) -> bool:
        t = self._t
        expires = _now() + lease_seconds
        with self._write() as conn:
            statement = t.update().where(self._current(job_id, token)).values(lease_expires=expires)
            if conn.execute(statement).rowcount != 1:
                return False
            self._end_claim(conn, job_id, token, expires)
        return True

    @_unavailable
    def release(self, job_id: str, *, token: int) -> bool:
        t, now = self._t, _now()
        statement = (
            t.update()
            .where(self._current(job_id, token))
            .values(
                state=JobState.PENDING.value,
                update_time=now,
                attempts=sa.case((t.c.attempts > 0, t.c.attempts - 1), else_=0),
                lease_owner="",
                lease_expires=None,
            )
        )
        with self._write() as conn:
            if conn.execute(statement).rowcount != 1:
                return False
            self._end_claim(conn, job_id, token, now)
        return True

    @_unavailable
    def claims(self, job_id: str) -> builtins.list[Claim]:
        c = self._claims
        rows = self._read(sa.select(c).where(c.c.job_id == job_id).order_by(c.c.token))
        return [
            Claim(
                job_id=r.job_id,
                token=r.token,
                owner=r.owner,
                claimed_at=datetime.fromtimestamp(r.claimed_at, UTC),
                ended_at=datetime.fromtimestamp(r.ended_at, UTC),
            )
            for r in rows
        ]

    @_unavailable
    def update_progress(
        self,
        job_id: str,
        *,
        token: int,
        trials_done: int,
        best_expected_cost: float | None,
    ) -> bool:
        t = self._t
        values: dict[str, Any] = {
            "trials_done": sa.case(
                (t.c.trials_done < trials_done, trials_done), else_=t.c.trials_done
            )
        }
        if best_expected_cost is not None:
            values["best_expected_cost"] = sa.case(
                (
                    sa.or_(
                        t.c.best_expected_cost.is_(None),
                        t.c.best_expected_cost > best_expected_cost,
                    ),
                    best_expected_cost,
                ),
                else_=t.c.best_expected_cost,
            )
        return self._update(self._current(job_id, token), **values) is not None

    @_unavailable
    def request_cancel(self, job_id: str, owner: str) -> JobRecord | None:
        t = self._t
        job = self._update(
            sa.and_(
                t.c.job_id == job_id,
                t.c.owner == owner,
                t.c.state.in_([JobState.PENDING.value, JobState.RUNNING.value]),
            ),
            state=sa.case(
                (t.c.state == JobState.PENDING.value, JobState.CANCELLED.value),
                else_=t.c.state,
            ),
            cancel_requested=True,
        )
        if job is not None:
            return job
        existing = self.get(job_id, owner)
        if existing is not None:
            raise JobFinishedError(existing)
        return None

    def study_fence(self, job_id: str, token: int) -> Callable[[Any], bool]:
        statement = sa.select(self._t.c.job_id).where(self._current(job_id, token))
        locking = statement.with_for_update()  # PostgreSQL; SQLite serializes its writers

        def holds(session: Any) -> bool:
            return session is not None and session.execute(locking).first() is not None

        return holds

    @_unavailable
    def cancel_requested(self, job_id: str, token: int | None = None) -> bool:
        t = self._t
        rows = self._read(
            sa.select(t.c.state, t.c.cancel_requested, t.c.fencing_token).where(
                t.c.job_id == job_id
            )
        )
        if not rows or rows[0].cancel_requested or rows[0].state != JobState.RUNNING.value:
            return True
        return token is not None and rows[0].fencing_token != token

    @_unavailable
    def finish(self, job_id: str, *, token: int, result_json: str) -> bool:
        job = self._update(
            self._current(job_id, token),
            **_NO_LEASE,
            state=JobState.SUCCEEDED.value,
            result_json=result_json,
        )
        return job is not None

    @_unavailable
    def fail(
        self, job_id: str, *, token: int, code: int, message: str, result_json: str = ""
    ) -> bool:
        job = self._update(
            self._current(job_id, token),
            **_NO_LEASE,
            state=JobState.FAILED.value,
            error_code=code,
            error_message=message,
            result_json=result_json,
        )
        return job is not None

    @_unavailable
    def cancel(self, job_id: str, *, token: int, result_json: str = "") -> bool:
        job = self._update(
            self._current(job_id, token),
            **_NO_LEASE,
            state=JobState.CANCELLED.value,
            result_json=result_json,
        )
        return job is not None

    @_unavailable
    def count_active(self, owner: str, *, at_most: int) -> int:
        t = self._t
        active = [JobState.PENDING.value, JobState.RUNNING.value]
        inner = (
            sa.select(t.c.seq)
            .where(t.c.owner == owner, t.c.state.in_(active))
            .limit(max(1, at_most))
            .subquery()
        )
        rows = self._read(sa.select(sa.func.count()).select_from(inner))
        return int(rows[0][0])

    @_unavailable
    def unfinished(self) -> builtins.list[JobRecord]:
        t = self._t
        rows = self._read(
            sa.select(t)
            .where(t.c.state.in_([JobState.PENDING.value, JobState.RUNNING.value]))
            .order_by(t.c.seq)
        )
        return [_record(r) for r in rows]

    def close(self) -> None:
        self._engine.dispose()

    def drop(self) -> None:
        """Drop the tables (tests clean up their PostgreSQL tables with it)."""
        self._metadata.drop_all(self._engine, checkfirst=True)


#: A final state holds no lease.
_NO_LEASE: dict[str, Any] = {"lease_owner": "", "lease_expires": None}


def _now() -> float:
    return datetime.now(UTC).timestamp()
