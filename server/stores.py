"""The store for a URL: the one module that knows every :class:`~aalps.server.store.JobStore`.

Kept apart from the contract (:mod:`aalps.server.store`), which the implementations import,
so that no import runs in a circle.
"""

from __future__ import annotations

from aalps.server.store import JobStore
from aalps.server.store_memory import InMemoryJobStore

__all__ = ["open_store"]


def open_store(url: str, *, table_prefix: str = "aalps_", create: bool = True) -> JobStore:
    """The store for a URL: ``memory:`` for a process-local store, else SQL.

    Parameters
    ----------
    url
        ``memory:``, or an SQLAlchemy URL (``sqlite:///aalps.db``, ``postgresql://...``).
    table_prefix
        Prefix of the SQL store's table names.
    create
        Create the SQL tables if they are missing.
    """
    if url == "memory:":
        return InMemoryJobStore()
    from aalps.server.store_sql import SqlJobStore  # SQLAlchemy only when asked for

    return SqlJobStore(url, table_prefix=table_prefix, create=create)
