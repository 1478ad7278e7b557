"""Store faults: retry a passing database error, report one that persists as UNAVAILABLE.

A database that is briefly gone (PostgreSQL restarting, a dropped connection, a full
disk being cleared) must not leave a job RUNNING with no progress, nor reach a caller as
INTERNAL. :class:`GuardedStore` wraps any :class:`~aalps.server.store.JobStore` and
retries each call that fails with a transient database error, with exponential backoff
bounded by a :class:`RetryPolicy`; when the error persists it raises
:class:`~aalps.server.store.StoreUnavailableError` ("the job store is unreachable ..."),
which the servicer reports as UNAVAILABLE (retryable).

Which errors are transient (:func:`classify`):

* connection lost or refused, disk full, I/O errors: SQLAlchemy ``OperationalError`` /
  ``InterfaceError`` / a ``DBAPIError`` that invalidated its connection, psycopg's
  ``OperationalError``, and the SQL store's own ``StoreUnavailableError`` -> retried;
* SQLite "database is locked" -> *not* retried: SQLite's busy handler has already waited
  the busy timeout (:data:`~aalps.server.sql_engine.BUSY_TIMEOUT_SECONDS`), so a caller
  gets UNAVAILABLE after that timeout rather than after several of them;
* an unreadable database ("file is not a database", "malformed") -> not retried,
  UNAVAILABLE naming the fault;
* anything else (a bug, a constraint) passes through unchanged.

The server wraps its store with :data:`CALL_POLICY` (a caller waits a few seconds at
most); a job's worker process with :data:`WORKER_POLICY` (a job rides out a longer
outage: nobody is waiting on its writes). Retrying a write whose commit succeeded but
whose reply was lost repeats it: every write of the contract is conditional (a repeated
progress, finish or cancel changes nothing) except ``create``, which may then store a
second PENDING job; that window is a lost reply in the middle of a commit, and rare.
"""

from __future__ import annotations

import enum
import logging
import random
import sqlite3
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aalps.server.store import JobStore, StoreUnavailableError
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

__all__ = [
    "CALL_POLICY",
    "Fault",
    "GuardedStore",
    "PROBE_JOB_ID",
    "R",
    "T",
    "RetryPolicy",
    "WORKER_POLICY",
    "classify",
    "guard_store",
    "open_guarded_store",
    "retry",
    "retry_connections",
    "where",
]

_log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")

#: The job id the health probe reads (never a real id: those are 32 hex digits).
PROBE_JOB_ID = "health-probe"


@dataclass(frozen=True)
class RetryPolicy:
    """How a transient store error is retried: exponential backoff, bounded twice.

    Attributes
    ----------
    tries
        Calls at most (the first one included).
    first_delay
        Seconds before the second try; each later delay doubles.
    max_delay
        Cap on one delay.
    budget_seconds
        No retry starts after this many seconds since the first try.
    jitter
        Each delay is scaled by a random factor in ``[1 - jitter, 1 + jitter]``, so that
        processes that lost the database together do not retry in step.
    """

    tries: int = 5
    first_delay: float = 0.25
    max_delay: float = 2.0
    budget_seconds: float = 10.0
    jitter: float = 0.2

    def delays(self) -> list[float]:
        """The nominal delays between tries (without jitter)."""
        return [min(self.max_delay, self.first_delay * 2**i) for i in range(self.tries - 1)]


#: RPC handlers: 5 tries over about 4 s (0.25 + 0.5 + 1 + 2 s of backoff).
CALL_POLICY = RetryPolicy()
#: A job's worker: 10 tries over about 24 s, so a job outlives a database restart.
WORKER_POLICY = RetryPolicy(tries=10, first_delay=0.25, max_delay=4.0, budget_seconds=30.0)


class Fault(enum.Enum):
    """What a store error means for a retry (see :func:`classify`)."""

    TRANSIENT = "transient"
    """The database is unreachable or failing for now: retry."""
    BUSY = "busy"
    """Locked past the busy timeout: report at once (the wait has happened)."""
    UNREADABLE = "unreadable"
    """The database file is corrupt or not a database: report at once."""
    OTHER = "other"
    """Not a store fault (a bug, bad input): let it through."""


_LOCKED = ("database is locked", "database table is locked", "database is busy")
_UNREADABLE = ("file is not a database", "database disk image is malformed")


def classify(error: BaseException) -> Fault:
    """Sort an exception raised by a store call into a :class:`Fault`."""
    chain = _chain(error)
    text = " ".join(str(e).lower() for e in chain)
    if any(marker in text for marker in _UNREADABLE):
        return Fault.UNREADABLE
    if any(marker in text for marker in _LOCKED):
        return Fault.BUSY
    for item in chain:
        if isinstance(item, StoreUnavailableError | exc.OperationalError | exc.InterfaceError):
            return Fault.TRANSIENT
        if isinstance(item, exc.DBAPIError) and item.connection_invalidated:
            return Fault.TRANSIENT
        if isinstance(item, sqlite3.OperationalError | sqlite3.InterfaceError):
            return Fault.TRANSIENT
        if _is_psycopg_operational(item):
            return Fault.TRANSIENT
    return Fault.OTHER


def _chain(error: BaseException) -> list[BaseException]:
    """The error, its causes and SQLAlchemy's wrapped DBAPI error (``orig``), once each."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or any(item is seen for seen in found) or len(found) > 10:
            continue
        found.append(item)
        orig = getattr(item, "orig", None)
        todo += [
            item.__cause__,
            item.__context__,
            orig if isinstance(orig, BaseException) else None,
        ]
    return found


def _is_psycopg_operational(error: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency of the SQL store
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def _unavailable(fault: Fault, error: BaseException, tries: int, seconds: float) -> Exception:
    """The StoreUnavailableError a caller sees for a persistent store fault."""
    detail = _first_line(error)
    if fault is Fault.BUSY:
        why = "its database stayed locked by another connection past the busy timeout"
    elif fault is Fault.UNREADABLE:
        why = "its database cannot be read"
    else:
        why = f"{tries} tries over {seconds:.1f} s"
    return StoreUnavailableError(f"the job store is unreachable ({why}): {detail}")


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    source = orig if isinstance(orig, BaseException) else error
    lines = str(source).strip().splitlines()
    return (lines[0] if lines else type(source).__name__)[:300]


def retry(
    action: Callable[[], R],
    policy: RetryPolicy,
    *,
    name: str = "call",
    on_fault: Callable[[BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """``action()``, retried per ``policy`` while it fails with a transient store fault.

    Raises
    ------
    StoreUnavailableError
        When the fault persists past the policy, or is not worth retrying (locked,
        unreadable); chained to the last error.
    """
    delays = policy.delays()
    start = time.monotonic()
    tries = 0
    while True:
        tries += 1
        try:
            return action()
        except Exception as error:
            fault = classify(error)
            if fault is Fault.OTHER:
                raise
            if on_fault is not None:
                on_fault(error)
            elapsed = time.monotonic() - start
            if fault is not Fault.TRANSIENT or tries > len(delays):
                raise _unavailable(fault, error, tries, elapsed) from error
            delay = delays[tries - 1] * random.uniform(1 - policy.jitter, 1 + policy.jitter)
            if elapsed + delay > policy.budget_seconds:
                raise _unavailable(fault, error, tries, elapsed) from error
            _log.warning(
                "job store: %s failed (%s); retry %d in %.2f s",
                name,
                _first_line(error),
                tries,
                delay,
            )
            sleep(delay)


class GuardedStore(JobStore):
    """A :class:`~aalps.server.store.JobStore` whose calls retry transient database errors.

    Every public method of the contract (including any added later) is forwarded to
    ``inner`` through :meth:`call`; ``close`` is forwarded as is.

    Parameters
    ----------
    inner
        The store to guard.
    policy
        How to retry.
    on_fault
        Called (from the calling thread) with each store fault seen, before any retry:
        the server wakes its health probe with it.
    sleep
        Waits between tries (tests pass a fake).
    """

    def __init__(
        self,
        inner: JobStore,
        policy: RetryPolicy = CALL_POLICY,
        *,
        on_fault: Callable[[BaseException], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self._on_fault = on_fault
        self._sleep = sleep

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``inner.<name>(*args, **kwargs)``, retried per the policy on a transient fault."""
        method = getattr(self.inner, name)
        return retry(
            lambda: method(*args, **kwargs),
            self.policy,
            name=name,
            on_fault=self._on_fault,
            sleep=self._sleep,
        )

    def probe(self) -> None:
        """One cheap read, not retried: raises if the store cannot answer now."""
        self.inner.get(PROBE_JOB_ID, "")

    def close(self) -> None:
        self.inner.close()


def _forwarder(name: str) -> Callable[..., Any]:
    def method(self: GuardedStore, *args: Any, **kwargs: Any) -> Any:
        return self.call(name, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(JobStore, name).__doc__
    return method


#: The contract's public methods, forwarded with retries (read when this module loads, so
#: methods added to the contract later are guarded too).
_GUARDED = sorted(
    name
    for name in dir(JobStore)
    if not name.startswith("_") and name != "close" and callable(getattr(JobStore, name))
)
for _name in _GUARDED:
    setattr(GuardedStore, _name, _forwarder(_name))
GuardedStore.__abstractmethods__ = frozenset()


def guard_store(
    store: JobStore,
    policy: RetryPolicy = CALL_POLICY,
    *,
    on_fault: Callable[[BaseException], None] | None = None,
) -> GuardedStore:
    """``store`` behind a :class:`GuardedStore` (a guarded store is re-guarded as is)."""
    if isinstance(store, GuardedStore):
        store = store.inner
    factory = cast(Callable[..., GuardedStore], GuardedStore)
    return factory(store, policy, on_fault=on_fault)


def open_guarded_store(
    url: str,
    *,
    table_prefix: str = "aalps_",
    create: bool = True,
    policy: RetryPolicy = CALL_POLICY,
    on_fault: Callable[[BaseException], None] | None = None,
) -> GuardedStore:
    """:func:`~aalps.server.stores.open_store`, guarded; opening is retried as well.

    Raises
    ------
    StoreUnavailableError
        When the database stays unreachable, is locked, or is not a database (a corrupt
        SQLite file): one line naming the database and the fault.
    """
    from aalps.server.stores import open_store

    try:
        inner = retry(
            lambda: open_store(url, table_prefix=table_prefix, create=create),
            policy,
            name="open",
            on_fault=on_fault,
        )
    except StoreUnavailableError as error:
        detail = _first_line(error.__cause__ or error)
        raise StoreUnavailableError(f"cannot open the job store {where(url)}: {detail}") from error
    return guard_store(inner, policy, on_fault=on_fault)


def retry_connections(target: T, policy: RetryPolicy = WORKER_POLICY) -> T:
    """Make new connections of ``target``'s engine wait out an outage, then return it.

    ``target`` is an SQLAlchemy ``Engine`` or holds one as ``.engine`` (Optuna's
    ``RDBStorage``). A job's Optuna study writes its database through its own engine,
    beside the job store: when the database goes away, the pooled connections die, and
    the next checkpoint's checkout (pre-ping, then a new connection) fails at once.
    With this, opening the connection is retried per ``policy`` instead (the search
    pauses), so a database restart between two transactions is invisible to the job. A
    connection lost in the middle of a transaction still fails that transaction. SQLite
    engines are returned unchanged (opening a file does not fail for an outage).
    """
    engine = target if isinstance(target, Engine) else getattr(target, "engine", None)
    if not isinstance(engine, Engine) or engine.dialect.name == "sqlite":
        return target
    if engine in _RETRYING:
        return target
    _RETRYING.add(engine)

    def connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        delays = policy.delays()
        start = time.monotonic()
        for attempt in range(len(delays) + 1):
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as error:
                late = time.monotonic() - start + delays[min(attempt, len(delays) - 1)]
                if attempt == len(delays) or late > policy.budget_seconds:
                    raise
                if classify(error) is not Fault.TRANSIENT:
                    raise
                _log.warning("database: connecting failed (%s); retrying", _first_line(error))
                time.sleep(delays[attempt])
        raise AssertionError("unreachable")

    event.listen(engine, "do_connect", connect)
    return target


_RETRYING: weakref.WeakSet[Engine] = weakref.WeakSet()


def where(url: str) -> str:
    """The database a URL names, without a password: the file of an SQLite URL."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        return repr(url.split("@")[-1])
    if parsed.get_backend_name() == "sqlite":
        return repr(parsed.database or ":memory:")
    return repr(parsed.render_as_string(hide_password=True))
