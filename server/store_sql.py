"""The job store in SQL (SQLAlchemy 2 Core): an SQLite file by default, PostgreSQL by URL.

One table, ``<prefix>jobs``, beside Optuna's own tables in the same database (so
``optuna-dashboard <url>`` shows every job's study). Several processes write it at once:
the server creates and cancels jobs, worker processes claim, advance and finish them.
Every write is one conditional ``UPDATE ... RETURNING`` (or one ``INSERT``) in its own
transaction, so writes never interleave half-way and a stale writer changes nothing.

SQLite specifics: WAL journal (readers never block the writer), a busy timeout (writers
wait for each other instead of failing), and ``BEGIN IMMEDIATE`` for writes (a write
transaction takes the lock up front, so two writers cannot deadlock on an upgrade).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from aalps.server.store import (
    JobFinishedError,
    JobPage,
    JobRecord,
    JobState,
    JobStore,
    StoreUnavailableError,
    decode_page_token,
    encode_page_token,
    new_job_id,
)
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

__all__ = ["BUSY_TIMEOUT_SECONDS", "P", "R", "SqlJobStore", "jobs_table", "make_engine"]

#: Seconds an SQLite writer waits for another's lock before the call fails with
#: UNAVAILABLE (bounded, so an outside lock never holds a call until its deadline); a
#: URL's ``?timeout=SEC`` overrides it (``sqlite:///aalps.db?timeout=10``).
BUSY_TIMEOUT_SECONDS = 5.0
#: Seconds to wait for a new PostgreSQL connection (a URL's ``connect_timeout`` wins).
_CONNECT_TIMEOUT_SECONDS = 5

P = ParamSpec("P")
R = TypeVar("R")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and manual BEGINs.

    The SQLite busy timeout is :data:`BUSY_TIMEOUT_SECONDS` unless the URL sets
    ``timeout``; PostgreSQL connections give up after 5 s unless it sets
    ``connect_timeout`` (a store that is gone fails fast, and the health probe with it).
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = _CONNECT_TIMEOUT_SECONDS
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    given = parsed.query.get("timeout")
    busy = float(given if isinstance(given, str) else BUSY_TIMEOUT_SECONDS)
    if not busy >= 0:
        raise ValueError(f"the SQLite busy timeout must be >= 0 s, got {given!r}")
    engine = sa.create_engine(
        parsed.difference_update_query(["timeout"]),
        isolation_level="AUTOCOMMIT",  # the store emits BEGIN IMMEDIATE itself
        connect_args={"timeout": busy, "check_same_thread": False},
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def jobs_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """The job table's schema. ``seq`` gives the stable listing order."""
    return sa.Table(
        f"{prefix}jobs",
        metadata,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("create_time", sa.Double(), nullable=False),
        sa.Column("update_time", sa.Double(), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("n_trials", sa.Integer(), nullable=False, default=0),
        sa.Column("trials_done", sa.Integer(), nullable=False, default=0),
        sa.Column("best_expected_cost", sa.Double(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=False, default=""),
        sa.Column("error_code", sa.Integer(), nullable=False, default=0),
        sa.Column("error_message", sa.Text(), nullable=False, default=""),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, default=False),
        sa.Column("attempts", sa.Integer(), nullable=False, default=0),
        sa.Index(f"{prefix}jobs_owner_seq", "owner", "seq"),
        sa.Index(f"{prefix}jobs_state", "state"),
    )


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
        Create the table if missing. The server does it once at start-up;
        worker processes open the store with ``create=False``.
    """

    def __init__(self, url: str, *, table_prefix: str = "aalps_", create: bool = True) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._metadata = sa.MetaData()
        self._t = jobs_table(self._metadata, table_prefix)
        if create:
            self._metadata.create_all(self._engine, checkfirst=True)

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

    def _current(self, job_id: str, attempt: int) -> sa.ColumnElement[bool]:
        t = self._t
        return sa.and_(
            t.c.job_id == job_id, t.c.state == JobState.RUNNING.value, t.c.attempts == attempt
        )

    # --- the contract -----------------------------------------------------------------

    @_unavailable
    def create(self, *, owner: str, request_json: str, n_trials: int) -> JobRecord:
        now = _now()
        values = {
            "job_id": new_job_id(),
            "owner": owner,
            "state": JobState.PENDING.value,
            "create_time": now,
            "update_time": now,
            "request_json": request_json,
            "n_trials": n_trials,
        }
        with self._write() as conn:
            row = conn.execute(self._t.insert().values(**values).returning(*self._t.c)).one()
        return _record(row)

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
    def start(self, job_id: str, *, attempts_seen: int) -> JobRecord | None:
        t = self._t
        return self._update(
            sa.and_(
                t.c.job_id == job_id,
                t.c.state.in_([JobState.PENDING.value, JobState.RUNNING.value]),
                t.c.attempts == attempts_seen,
            ),
            state=JobState.RUNNING.value,
            attempts=attempts_seen + 1,
        )

    @_unavailable
    def update_progress(
        self,
        job_id: str,
        *,
        attempt: int,
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
        return self._update(self._current(job_id, attempt), **values) is not None

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

    @_unavailable
    def cancel_requested(self, job_id: str) -> bool:
        t = self._t
        rows = self._read(sa.select(t.c.state, t.c.cancel_requested).where(t.c.job_id == job_id))
        return not rows or rows[0].cancel_requested or rows[0].state != JobState.RUNNING.value

    @_unavailable
    def finish(self, job_id: str, *, attempt: int, result_json: str) -> bool:
        job = self._update(
            self._current(job_id, attempt),
            state=JobState.SUCCEEDED.value,
            result_json=result_json,
        )
        return job is not None

    @_unavailable
    def fail(
        self, job_id: str, *, attempt: int, code: int, message: str, result_json: str = ""
    ) -> bool:
        job = self._update(
            self._current(job_id, attempt),
            state=JobState.FAILED.value,
            error_code=code,
            error_message=message,
            result_json=result_json,
        )
        return job is not None

    @_unavailable
    def cancel(self, job_id: str, *, attempt: int, result_json: str = "") -> bool:
        job = self._update(
            self._current(job_id, attempt),
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
        """Drop the job table (tests clean up their PostgreSQL tables with it)."""
        self._metadata.drop_all(self._engine, checkfirst=True)


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _record(row: sa.Row[Any]) -> JobRecord:
    m = row._mapping
    return JobRecord(
        job_id=m["job_id"],
        owner=m["owner"],
        state=JobState(m["state"]),
        create_time=datetime.fromtimestamp(m["create_time"], UTC),
        update_time=datetime.fromtimestamp(m["update_time"], UTC),
        request_json=m["request_json"],
        n_trials=m["n_trials"],
        trials_done=m["trials_done"],
        best_expected_cost=m["best_expected_cost"],
        result_json=m["result_json"] or "",
        error_code=m["error_code"],
        error_message=m["error_message"] or "",
        cancel_requested=bool(m["cancel_requested"]),
        attempts=m["attempts"],
    )
