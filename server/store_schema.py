"""The SQL job store's schema: its two tables, their migration, and the schema lock.

``<prefix>jobs`` holds one row per job, its lease among them (``lease_owner``,
``lease_expires``, ``fencing_token``); ``<prefix>job_claims`` is the lease history, one row
per claim, written in the claim's transaction (an audit trail: tests check from it that
no two replicas ever held a job at once).

Databases made before leases existed lack the lease columns: :func:`migrate` adds what is
missing (``ALTER TABLE ... ADD COLUMN``), so an old SQLite file still opens.

:func:`schema_lock` makes schema creation safe when several replicas start together on an
empty database: one creates the tables (aalps' and Optuna's), the others wait. PostgreSQL
creates types and tables in catalogs with unique keys, so two concurrent
``CREATE TYPE studydirection`` fail one replica with an IntegrityError; under a session
advisory lock they run one after the other, and the second finds everything in place.
SQLite serializes schema changes by itself, but the lock there is a file lock beside the
database, held likewise.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aalps.server.store import JobRecord
from sqlalchemy.engine import Engine

from aalps.job_state import JobState

__all__ = [
    "LEASE_COLUMNS",
    "claims_table",
    "jobs_table",
    "migrate",
    "request_id_index",
    "record_from_row",
    "schema_lock",
]

_log = logging.getLogger(__name__)

#: The columns added since the first schema (leases, idempotent submission), with the SQL
#: type and default an old table gets them with.
LEASE_COLUMNS = (
    ("lease_owner", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("lease_expires", "DOUBLE PRECISION"),
    ("fencing_token", "BIGINT NOT NULL DEFAULT 0"),
    ("request_id", "VARCHAR(64) NOT NULL DEFAULT ''"),
)


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
        sa.Column("lease_owner", sa.String(255), nullable=False, default=""),
        sa.Column("lease_expires", sa.Double(), nullable=True),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False, default=0),
        sa.Column("request_id", sa.String(64), nullable=False, default=""),
        sa.Index(f"{prefix}jobs_owner_seq", "owner", "seq"),
        sa.Index(f"{prefix}jobs_state", "state"),
    )


def request_id_index(prefix: str) -> str:
    """DDL of the unique (owner, request_id) index of non-empty ids (PostgreSQL and SQLite
    both have partial indexes); IF NOT EXISTS, so that a migration may run it again."""
    return (
        f'CREATE UNIQUE INDEX IF NOT EXISTS "{prefix}jobs_owner_request_id" '
        f"ON \"{prefix}jobs\" (owner, request_id) WHERE request_id <> ''"
    )


def claims_table(metadata: sa.MetaData, prefix: str) -> sa.Table:
    """The lease history: one row per claim; ``ended_at`` follows renewals and releases."""
    return sa.Table(
        f"{prefix}job_claims",
        metadata,
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("token", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("claimed_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=False),
    )


def migrate(engine: Engine, jobs: sa.Table, prefix: str) -> list[str]:
    """Add the columns a table made before them lacks, and the request-id index; the
    names of the columns added."""
    present = {column["name"] for column in sa.inspect(engine).get_columns(jobs.name)}
    added = []
    with engine.connect() as conn:
        for name, ddl in LEASE_COLUMNS:
            if name not in present:
                conn.exec_driver_sql(f'ALTER TABLE "{jobs.name}" ADD COLUMN {name} {ddl}')
                added.append(name)
        conn.exec_driver_sql(request_id_index(prefix))
        conn.commit()
    if added:
        _log.info("table %s: added the columns %s", jobs.name, ", ".join(added))
    return added


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold the database's schema lock: one process creates or migrates tables at a time.

    PostgreSQL: a session advisory lock (``pg_advisory_lock``) keyed by a digest of the
    database; SQLite: an exclusive ``flock`` on ``<file>.schema-lock``; anything else
    (an in-memory SQLite): no lock.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"aalps-schema").digest()[:8], "big", signed=True)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
        finally:
            engine.dispose()
        return
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(Path(database).with_name(Path(database).name + ".schema-lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record_from_row(row: sa.Row[Any]) -> JobRecord:
    """The :class:`~aalps.server.store.JobRecord` of a row of the job table."""
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
        lease_owner=m["lease_owner"] or "",
        lease_expires=(
            None if m["lease_expires"] is None else datetime.fromtimestamp(m["lease_expires"], UTC)
        ),
        fencing_token=m["fencing_token"],
        request_id=m["request_id"] or "",
    )
