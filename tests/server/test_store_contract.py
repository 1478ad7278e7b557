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

import pytest
from aalps.cost_models.errors import InvalidRequestError
from aalps.server.store import JobFinishedError, JobState, JobStore
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
    store.start(b, attempts_seen=0)
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


def test_start_claims_each_attempt_once(store: JobStore) -> None:
    job_id = _submit(store)
    claimed = store.start(job_id, attempts_seen=0)
    assert claimed is not None and claimed.state is JobState.RUNNING and claimed.attempts == 1
    assert store.start(job_id, attempts_seen=0) is None  # a second worker loses the race
    resumed = store.start(job_id, attempts_seen=1)  # a restart resumes a RUNNING job
    assert resumed is not None and resumed.attempts == 2
    assert store.finish(job_id, attempt=2, result_json="{}")
    assert store.start(job_id, attempts_seen=2) is None


def test_progress_is_monotone(store: JobStore) -> None:
    job_id = _submit(store)
    store.start(job_id, attempts_seen=0)
    assert store.update_progress(job_id, attempt=1, trials_done=5, best_expected_cost=10.0)
    assert store.update_progress(job_id, attempt=1, trials_done=3, best_expected_cost=12.0)
    job = store.get(job_id, "alice")
    assert job is not None and (job.trials_done, job.best_expected_cost) == (5, 10.0)
    store.update_progress(job_id, attempt=1, trials_done=9, best_expected_cost=None)
    store.update_progress(job_id, attempt=1, trials_done=9, best_expected_cost=8.0)
    job = store.get(job_id, "alice")
    assert job is not None and (job.trials_done, job.best_expected_cost) == (9, 8.0)
    store.start(job_id, attempts_seen=1)  # a resumed attempt restarts from zero...
    assert not store.update_progress(job_id, attempt=1, trials_done=50, best_expected_cost=1.0)
    assert store.update_progress(job_id, attempt=2, trials_done=2, best_expected_cost=20.0)
    job = store.get(job_id, "alice")  # ...but the job's figures never go back
    assert job is not None and (job.trials_done, job.best_expected_cost) == (9, 8.0)


def test_progress_under_concurrent_writers(store: JobStore) -> None:
    job_id = _submit(store)
    store.start(job_id, attempts_seen=0)

    def writer(offset: int) -> None:
        for i in range(offset, 60, 4):
            store.update_progress(job_id, attempt=1, trials_done=i, best_expected_cost=100.0 - i)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    job = store.get(job_id, "alice")
    assert job is not None and (job.trials_done, job.best_expected_cost) == (59, 41.0)


def test_finishing_needs_the_current_attempt(store: JobStore) -> None:
    job_id = _submit(store)
    assert not store.finish(job_id, attempt=1, result_json="{}")  # not started
    store.start(job_id, attempts_seen=0)
    store.start(job_id, attempts_seen=1)
    assert not store.finish(job_id, attempt=1, result_json='{"stale": 1}')
    assert store.fail(job_id, attempt=2, code=9, message="no feasible plan")
    assert not store.finish(job_id, attempt=2, result_json="{}")  # final states are final
    job = store.get(job_id, "alice")
    assert job is not None and job.state is JobState.FAILED
    assert (job.error_code, job.error_message, job.result_json) == (9, "no feasible plan", "")


def test_finish_and_cancel_store_results(store: JobStore) -> None:
    done, stopped = _submit(store), _submit(store)
    for job_id in (done, stopped):
        store.start(job_id, attempts_seen=0)
    assert store.finish(done, attempt=1, result_json='{"plan": 1}')
    assert store.cancel(stopped, attempt=1, result_json='{"plan": 2}')
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
    assert store.start(job_id, attempts_seen=0) is None


def test_cancel_a_running_job_sets_the_flag(store: JobStore) -> None:
    job_id = _submit(store)
    store.start(job_id, attempts_seen=0)
    assert not store.cancel_requested(job_id)
    job = store.request_cancel(job_id, "alice")
    assert job is not None and job.state is JobState.RUNNING and job.cancel_requested
    assert store.cancel_requested(job_id)
    assert store.cancel(job_id, attempt=1)


def test_cancel_a_finished_job_changes_nothing(store: JobStore) -> None:
    job_id = _submit(store)
    store.start(job_id, attempts_seen=0)
    store.finish(job_id, attempt=1, result_json='{"x": 1}')
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
    store.start(b, attempts_seen=0)
    store.start(c, attempts_seen=0)
    store.finish(c, attempt=1, result_json="{}")
    assert [j.job_id for j in store.unfinished()] == [a, b, d]


# --- persistence (SQL stores) -------------------------------------------------------------


def test_jobs_survive_reopening(store_factory: tuple[str, str]) -> None:
    kind, url = store_factory
    if kind == "memory":
        pytest.skip("the memory store lives in one process by design")
    first = _open(url)
    job_id = _submit(first)
    first.start(job_id, attempts_seen=0)
    first.update_progress(job_id, attempt=1, trials_done=4, best_expected_cost=3.5)
    first.close()
    second = _open(url)
    job = second.get(job_id, "alice")
    second.close()
    assert job is not None and job.state is JobState.RUNNING
    assert (job.trials_done, job.best_expected_cost, job.attempts) == (4, 3.5, 1)


def _progress_writer(url: str, job_id: str, start: int) -> int:
    store = _open(url)
    for i in range(start, 200, 2):
        store.update_progress(job_id, attempt=1, trials_done=i, best_expected_cost=None)
    store.close()
    return start


def test_several_processes_write_one_database(store_factory: tuple[str, str]) -> None:
    kind, url = store_factory
    if kind == "memory":
        pytest.skip("the memory store lives in one process by design")
    store = _open(url)
    job_id = _submit(store)
    store.start(job_id, attempts_seen=0)
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
