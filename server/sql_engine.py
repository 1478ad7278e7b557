"""The SQLAlchemy engine of the job store: how a URL becomes connections.

SQLite files get WAL (readers never block the writer), a bounded busy timeout (writers wait
for each other, but an outside lock never holds a call until its deadline) and manual
``BEGIN`` (the store emits ``BEGIN IMMEDIATE``); PostgreSQL gets pre-ping and a connect
timeout, so a store that is gone fails fast and the health probe with it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["BUSY_TIMEOUT_SECONDS", "make_engine"]

#: Seconds an SQLite writer waits for another's lock before the call fails with
#: UNAVAILABLE (bounded, so an outside lock never holds a call until its deadline); a
#: URL's ``?timeout=SEC`` overrides it (``sqlite:///aalps.db?timeout=10``).
BUSY_TIMEOUT_SECONDS = 5.0
#: Seconds to wait for a new PostgreSQL connection (a URL's ``connect_timeout`` wins).
_CONNECT_TIMEOUT_SECONDS = 5


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
