"""One contract, three stores: in memory, an SQLite file, and PostgreSQL.

PostgreSQL runs when ``AALPS_TEST_POSTGRES_URL`` is set (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each run uses its own table prefix
and drops its table afterwards, so runs never collide.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from aalps.cost_models.errors import InvalidRequestError
from aalps.optimizer.study_mirror import StudyMirror
from aalps.server.job_worker import optuna_storage
from aalps.server.store import JobFinishedError, JobRecord, JobState, JobStore
from aalps.server.store_memory import InMemoryJobStore
from aalps.server.store_sql import SqlJobStore
from aalps.server.stores import open_store

POSTGRES_URL = os.environ.get("AALPS_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "AALPS_TEST_POSTGRES_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, url) of a fresh store; the same URL reopens the same data."""
    kind = request.param
    if kind == "memory":
        yield kind, "memory:"
    elif kind == "sqlite":
        yield kind, _sqlite_url(tmp_path)
    else:
        if not POSTGRES_URL:
            pytest.skip(NO_POSTGRES)
        prefix = f"aalps_t{uuid.uuid4().hex[:10]}_"
        yield kind, f"{POSTGRES_URL}#{prefix}"
        SqlJobStore(POSTGRES_URL, table_prefix=prefix, create=False).drop()


def _open(url: str) -> JobStore:
    base, _, prefix = url.partition("#")
    return open_store(base, table_prefix=prefix or "aalps_")


@pytest.fixture
def store(store_factory: tuple[str, str]) -> Iterator[JobStore]:
    store = _open(store_factory[1])
    yield store
    store.close()


def _submit(store: JobStore, owner: str = "alice", n: int = 100) -> str:
    return store.create(owner=owner, request_json='{"graph": {}}', n_trials=n).job_id


def _claim(store: JobStore, job_id: str, lease_seconds: float = 60.0) -> JobRecord | None:
    return store.claim(job_id, owner="replica", lease_seconds=lease_seconds)


# --- create / get -------------------------------------------------------------------------


def test_create_then_get_round_trips(store: JobStore) -> None:
    job = store.create(owner="alice", request_json='{"a": "é ✓"}', n_trials=7)
    got = store.get(job.job_id, "alice")
    assert got == job
    assert got.state is JobState.PENDING
    assert (got.n_trials, got.trials_done, got.attempts) == (7, 0, 0)
    assert got.best_expected_cost is None and got.result_json == "" and got.error_code == 0
    assert got.create_time.tzinfo is not None and got.create_time == got.update_time


def test_get_hides_unknown_and_foreign_jobs(store: JobStore) -> None:
    job_id = _submit(store, "alice")
    assert store.get(job_id, "bob") is None
    assert store.get("nope", "alice") is None
    assert store.get("' OR 1=1 --", "alice") is None


# --- list ---------------------------------------------------------------------------------


def test_list_pages_newest_first_and_stably(store: JobStore) -> None:
    ids = [_submit(store) for _ in range(5)]
    _submit(store, "bob")
    first = store.list("alice", page_size=2)
    assert [j.job_id for j in first.jobs] == ids[::-1][:2] and first.next_page_token
    ids.append(_submit(store))  # a new job while paging: no repeat, no skip
    second = store.list("alice", page_size=2, page_token=first.next_page_token)
    third = store.list("alice", page_size=2, page_token=second.next_page_token)
    assert [j.job_id for j in second.jobs + list(third.jobs)] == ids[:5][::-1][2:]
    assert third.next_page_token == ""
    assert len(store.list("alice", page_size=500).jobs) == 6


def test_list_filters_by_state(store: JobStore) -> None:
    a, b, c = (_submit(store) for _ in range(3))
    _claim(store, b)
    store.request_cancel(c, "alice")
    running = store.list("alice", page_size=10, state=JobState.RUNNING)
    assert [j.job_id for j in running.jobs] == [b]
    pending = store.list("alice", page_size=1, state=JobState.PENDING)
    assert [j.job_id for j in pending.jobs] == [a] and pending.next_page_token == ""
    assert [j.job_id for j in store.list("alice", page_size=9, state=JobState.CANCELLED).jobs] == [
        c
    ]


@pytest.mark.parametrize("token", ["garbage!", "eyJ4IjogMX0", "e30"])
def test_list_rejects_foreign_page_tokens(store: JobStore, token: str) -> None:
    _submit(store)
    with pytest.raises(InvalidRequestError) as info:
        store.list("alice", page_size=1, page_token=token)
    assert info.value.violations[0].field == "page_token"


def test_list_rejects_a_token_made_for_another_filter(store: JobStore) -> None:
    for _ in range(3):
        _submit(store)
    token = store.list("alice", page_size=1).next_page_token
    with pytest.raises(InvalidRequestError):
        store.list("alice", page_size=1, page_token=token, state=JobState.PENDING)


# --- the worker's side --------------------------------------------------------------------


def test_claim_is_exclusive_and_the_token_grows(store: JobStore) -> None:
    job_id = _submit(store)
    claimed = store.claim(job_id, owner="r1", lease_seconds=60)
    assert claimed is not None and claimed.state is JobState.RUNNING
    assert (claimed.attempts, claimed.fencing_token, claimed.lease_owner) == (1, 1, "r1")
    assert claimed.lease_expires is not None and claimed.lease_expires > claimed.update_time
    assert store.claim(job_id, owner="r2", lease_seconds=60) is None  # the lease holds
    assert [j.job_id for j in store.claimable(limit=10)] == []
    assert store.finish(job_id, token=1, result_json="{}")
    assert store.claim(job_id, owner="r2", lease_seconds=60) is None  # final is final


def test_claim_is_exclusive_under_concurrent_replicas(store: JobStore) -> None:
    ids = [_submit(store) for _ in range(8)]
    won: list[tuple[str, str]] = []
    lock = threading.Lock()

    def replica(name: str) -> None:
        for job_id in ids:
            if store.claim(job_id, owner=name, lease_seconds=60) is not None:
                with lock:
                    won.append((job_id, name))

    threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for j, _ in won) == sorted(ids)  # each job claimed exactly once


def test_an_expired_lease_is_taken_over_and_the_stale_token_refused(store: JobStore) -> None:
    job_id = _submit(store)
    first = store.claim(job_id, owner="r1", lease_seconds=0.0)  # expires at once
    assert first is not None and first.fencing_token == 1
    assert [j.job_id for j in store.claimable(limit=10)] == [job_id]
    second = store.claim(job_id, owner="r2", lease_seconds=60)
    assert second is not None and (second.fencing_token, second.attempts) == (2, 2)
    assert second.lease_owner == "r2"
    # every write of the first owner is refused now, and it learns it must stop
    assert not store.update_progress(job_id, token=1, trials_done=5, best_expected_cost=1.0)
    assert not store.renew(job_id, token=1, lease_seconds=60)
    assert not store.release(job_id, token=1)
    assert not store.finish(job_id, token=1, result_json='{"stale": 1}')
    assert store.cancel_requested(job_id, 1) and not store.cancel_requested(job_id, 2)
    assert store.renew(job_id, token=2, lease_seconds=60)
    assert store.finish(job_id, token=2, result_json="{}")
    history = store.claims(job_id)
    assert [(c.token, c.owner) for c in history] == [(1, "r1"), (2, "r2")]
    assert history[0].ended_at <= history[1].claimed_at  # the leases never overlapped


def test_renewal_keeps_the_lease(store: JobStore) -> None:
    job_id = _submit(store)
    _claim(store, job_id, lease_seconds=0.0)
    assert store.renew(job_id, token=1, lease_seconds=60)  # renewed before a takeover
    assert store.claim(job_id, owner="r2", lease_seconds=60) is None
    job = store.get(job_id, "alice")
    assert job is not None and job.lease_expires is not None
    assert store.claims(job_id)[0].ended_at == job.lease_expires


def test_release_gives_the_job_back_with_its_progress(store: JobStore) -> None:
    job_id = _submit(store)
    _claim(store, job_id)
    store.update_progress(job_id, token=1, trials_done=7, best_expected_cost=2.0)
    assert store.release(job_id, token=1)
    job = store.get(job_id, "alice")
    assert job is not None and job.state is JobState.PENDING
    assert (job.trials_done, job.best_expected_cost, job.attempts) == (7, 2.0, 0)
    assert (job.lease_owner, job.lease_expires, job.fencing_token) == ("", None, 1)
    again = store.claim(job_id, owner="r2", lease_seconds=60)  # at once, no expiry to wait
    assert again is not None and (again.fencing_token, again.attempts) == (2, 1)
    assert not store.update_progress(job_id, token=1, trials_done=9, best_expected_cost=None)


def test_progress_is_monotone(store: JobStore) -> None:
    job_id = _submit(store)
    _claim(store, job_id)
    assert store.update_progress(job_id, token=1, trials_done=5, best_expected_cost=10.0)
    assert store.update_progress(job_id, token=1, trials_done=3, best_expected_cost=12.0)
    job = store.get(job_id, "alice")
    assert job is not None and (job.trials_done, job.best_expected_cost) == (5, 10.0)
    store.update_progress(job_id, token=1, trials_done=9, best_expected_cost=None)
    store.update_progress(job_id, token=1, trials_done=9, best_expected_cost=8.0)
    job = store.get(job_id, "alice")
    assert job is not None and (job.trials_done, job.best_expected_cost) == (9, 8.0)
    store.release(job_id, token=1)
    _claim(store, job_id)  # a resumed attempt may report less...
    assert not store.update_progress(job_id, token=1, trials_done=50, best_expected_cost=1.0)
    assert store.update_progress(job_id, token=2, trials_done=2, best_expected_cost=20.0)
    job = store.get(job_id, "alice")  # ...but the job's figures never go back
    assert job is not None and (job.trials_done, job.best_expected_cost) == (9, 8.0)


def test_progress_under_concurrent_writers(store: JobStore) -> None:
    job_id = _submit(store)
    _claim(store, job_id)

    def writer(offset: int) -> None:
        for i in range(offset, 60, 4):
            store.update_progress(job_id, token=1, trials_done=i, best_expected_cost=100.0 - i)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    job = store.get(job_id, "alice")
    assert job is not None and (job.trials_done, job.best_expected_cost) == (59, 41.0)


def test_finishing_needs_the_current_token(store: JobStore) -> None:
    job_id = _submit(store)
    assert not store.finish(job_id, token=1, result_json="{}")  # not started
    _claim(store, job_id, lease_seconds=0.0)
    _claim(store, job_id)
    assert not store.finish(job_id, token=1, result_json='{"stale": 1}')
    assert store.fail(job_id, token=2, code=9, message="no feasible plan")
    assert not store.finish(job_id, token=2, result_json="{}")  # final states are final
    job = store.get(job_id, "alice")
    assert job is not None and job.state is JobState.FAILED
    assert (job.error_code, job.error_message, job.result_json) == (9, "no feasible plan", "")


def test_finish_and_cancel_store_results(store: JobStore) -> None:
    done, stopped = _submit(store), _submit(store)
    for job_id in (done, stopped):
        _claim(store, job_id)
    assert store.finish(done, token=1, result_json='{"plan": 1}')
    assert store.cancel(stopped, token=1, result_json='{"plan": 2}')
    first, second = store.get(done, "alice"), store.get(stopped, "alice")
    assert first is not None and first.state is JobState.SUCCEEDED
    assert first.result_json == '{"plan": 1}'
    assert second is not None and second.state is JobState.CANCELLED
    assert second.result_json == '{"plan": 2}'


# --- cancellation -------------------------------------------------------------------------


def test_cancel_a_pending_job_at_once(store: JobStore) -> None:
    job_id = _submit(store)
    job = store.request_cancel(job_id, "alice")
    assert job is not None and job.state is JobState.CANCELLED
    assert _claim(store, job_id) is None


def test_cancel_a_running_job_sets_the_flag(store: JobStore) -> None:
    job_id = _submit(store)
    _claim(store, job_id)
    assert not store.cancel_requested(job_id)
    job = store.request_cancel(job_id, "alice")
    assert job is not None and job.state is JobState.RUNNING and job.cancel_requested
    assert store.cancel_requested(job_id)
    assert store.cancel(job_id, token=1)


def test_cancel_a_finished_job_changes_nothing(store: JobStore) -> None:
    job_id = _submit(store)
    _claim(store, job_id)
    store.finish(job_id, token=1, result_json='{"x": 1}')
    before = store.get(job_id, "alice")
    with pytest.raises(JobFinishedError) as info:
        store.request_cancel(job_id, "alice")
    assert info.value.job == before
    assert store.get(job_id, "alice") == before


def test_cancel_unknown_or_foreign_job(store: JobStore) -> None:
    job_id = _submit(store, "alice")
    assert store.request_cancel(job_id, "bob") is None
    assert store.request_cancel("missing", "alice") is None
    job = store.get(job_id, "alice")
    assert job is not None and job.state is JobState.PENDING and not job.cancel_requested


def test_unfinished_lists_pending_and_running_oldest_first(store: JobStore) -> None:
    a, b, c, d = (_submit(store, owner) for owner in ("alice", "bob", "alice", "alice"))
    _claim(store, b)
    _claim(store, c)
    store.finish(c, token=1, result_json="{}")
    assert [j.job_id for j in store.unfinished()] == [a, b, d]


# --- persistence (SQL stores) -------------------------------------------------------------


def test_jobs_survive_reopening(store_factory: tuple[str, str]) -> None:
    kind, url = store_factory
    if kind == "memory":
        pytest.skip("the memory store lives in one process by design")
    first = _open(url)
    job_id = _submit(first)
    _claim(first, job_id)
    first.update_progress(job_id, token=1, trials_done=4, best_expected_cost=3.5)
    first.close()
    second = _open(url)
    job = second.get(job_id, "alice")
    second.close()
    assert job is not None and job.state is JobState.RUNNING
    assert (job.trials_done, job.best_expected_cost, job.attempts) == (4, 3.5, 1)


def _progress_writer(url: str, job_id: str, start: int) -> int:
    store = _open(url)
    for i in range(start, 200, 2):
        store.update_progress(job_id, token=1, trials_done=i, best_expected_cost=None)
    store.close()
    return start


def test_several_processes_write_one_database(store_factory: tuple[str, str]) -> None:
    kind, url = store_factory
    if kind == "memory":
        pytest.skip("the memory store lives in one process by design")
    store = _open(url)
    job_id = _submit(store)
    _claim(store, job_id)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        other = pool.submit(_progress_writer, url, job_id, 1)
        while not other.done():  # this process writes meanwhile, in the same tables
            _progress_writer(url, job_id, 0)
            _submit(store)
        assert other.result() == 1
    job = store.get(job_id, "alice")
    assert job is not None and job.trials_done == 199
    store.close()


def test_in_memory_store_is_a_job_store() -> None:
    assert isinstance(InMemoryJobStore(), JobStore)


def test_a_database_from_before_leases_still_opens(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:  # the job table as it was, with a job left RUNNING
        conn.exec_driver_sql(
            "CREATE TABLE aalps_jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id VARCHAR(64)"
            " NOT NULL UNIQUE, owner VARCHAR(255) NOT NULL, state VARCHAR(16) NOT NULL,"
            " create_time FLOAT NOT NULL, update_time FLOAT NOT NULL, request_json TEXT NOT"
            " NULL, n_trials INTEGER NOT NULL, trials_done INTEGER NOT NULL,"
            " best_expected_cost FLOAT, result_json TEXT NOT NULL, error_code INTEGER NOT NULL,"
            " error_message TEXT NOT NULL, cancel_requested BOOLEAN NOT NULL,"
            " attempts INTEGER NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO aalps_jobs (job_id, owner, state, create_time, update_time,"
            " request_json, n_trials, trials_done, result_json, error_code, error_message,"
            " cancel_requested, attempts) VALUES ('old', 'alice', 'RUNNING', 1.0, 1.0, '{}',"
            " 10, 4, '', 0, '', 0, 1)"
        )
    engine.dispose()
    store = open_store(url)
    job = store.get("old", "alice")
    assert job is not None and (job.lease_owner, job.lease_expires, job.fencing_token) == (
        "",
        None,
        0,
    )
    assert [j.job_id for j in store.claimable(limit=5)] == ["old"]  # no lease: claimable
    claimed = store.claim("old", owner="r1", lease_seconds=60)
    assert claimed is not None and (claimed.fencing_token, claimed.trials_done) == (1, 4)
    first = store.create(owner="alice", request_json="{}", n_trials=1, request_id="r-1")
    again = store.create(owner="alice", request_json="{}", n_trials=1, request_id="r-1")
    assert again.job_id == first.job_id and job.request_id == ""  # the index came with it
    store.close()


# --- the job's study is fenced too ---------------------------------------------------------


def test_a_stale_owner_writes_no_trials_to_the_jobs_study(
    store: JobStore, store_factory: tuple[str, str]
) -> None:
    """Trials are copied under the fence of the claim that ran them: once another replica
    has claimed the job, the stale owner's copies are dropped (the new owner's go in)."""
    kind, url = store_factory
    job_id = _submit(store)
    first = store.claim(job_id, owner="r1", lease_seconds=0.0)  # expires at once
    assert first is not None
    if kind == "memory":
        assert store.study_fence(job_id, first.fencing_token) is None  # no shared database
        return
    storage = optuna_storage(url.partition("#")[0])
    stored = optuna.create_study(storage=storage, study_name=f"fence-{uuid.uuid4().hex}")
    working = optuna.create_study()
    stale = StudyMirror(working, stored, store.study_fence(job_id, first.fencing_token))
    working.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    stale.sync()
    assert len(stored.trials) == 3 and not stale.fenced  # the claim still holds
    second = store.claim(job_id, owner="r2", lease_seconds=60)
    assert second is not None
    working.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    stale.sync()
    assert len(stored.trials) == 3 and stale.fenced
    fresh = StudyMirror(optuna.create_study(), stored, store.study_fence(job_id, 2))
    fresh.working.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    fresh.sync()
    assert len(stored.trials) == 5 and not fresh.fenced


# --- idempotent submission ------------------------------------------------------------------


def test_a_retried_create_returns_the_first_job(store: JobStore) -> None:
    first = store.create(owner="alice", request_json='{"a": 1}', n_trials=5, request_id="r-1")
    again = store.create(owner="alice", request_json='{"a": 1}', n_trials=5, request_id="r-1")
    assert again.job_id == first.job_id and again.request_id == "r-1"
    other_owner = store.create(owner="bob", request_json='{"a": 1}', n_trials=5, request_id="r-1")
    no_id = [store.create(owner="alice", request_json='{"a": 1}', n_trials=5) for _ in range(2)]
    assert len({first.job_id, other_owner.job_id, *(j.job_id for j in no_id)}) == 4
    assert [j.job_id for j in store.list("alice", page_size=10).jobs].count(first.job_id) == 1
    assert len(store.list("alice", page_size=10).jobs) == 3
    found = store.find_request("alice", "r-1")
    assert found is not None and found.job_id == first.job_id
    assert store.find_request("alice", "r-2") is None


def test_a_request_id_reused_for_another_request_is_refused(store: JobStore) -> None:
    store.create(owner="alice", request_json='{"a": 1}', n_trials=5, request_id="r-1")
    with pytest.raises(InvalidRequestError) as info:
        store.create(owner="alice", request_json='{"a": 2}', n_trials=5, request_id="r-1")
    assert [v.field for v in info.value.violations] == ["request_id"]
    assert len(store.list("alice", page_size=10).jobs) == 1


def test_concurrent_retries_create_one_job(store_factory: tuple[str, str]) -> None:
    """Several stores (as several replicas) create the same request id at once."""
    kind, url = store_factory
    stores = [_open(url) for _ in range(1 if kind == "memory" else 4)]
    made: list[str] = []
    barrier = threading.Barrier(8)

    def create(store: JobStore) -> None:
        barrier.wait()
        job = store.create(owner="alice", request_json="{}", n_trials=1, request_id="same")
        made.append(job.job_id)

    threads = [threading.Thread(target=create, args=(stores[i % len(stores)],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 8 and len(set(made)) == 1
    assert len(stores[0].list("alice", page_size=20).jobs) == 1
    for store in stores:
        store.close()
