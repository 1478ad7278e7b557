"""Scale-out that survives faults: leases, takeover, resumed studies, chaos.

Server subprocesses share one database and are SIGKILLed as a crash would kill them:

- on SQLite, a job killed mid-search completes after a restart *in the same Optuna study*
  (its earlier trials count toward ``n_trials``, none is left RUNNING);
- on PostgreSQL (skipped without ``AALPS_TEST_POSTGRES_URL``), a live replica takes over a
  dead replica's job with no restart, within the lease plus a poll; and three replicas
  started at once on an empty database, one killed and restarted every few seconds, finish
  every job, never two holding one job at once (checked on the lease history).
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from aalps.client import Client
from aalps.optimizer import optimize
from aalps.optimizer.search import RECORDED_KINDS
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.proto.convert import request_from_proto
from aalps.server.job_study import study_name
from aalps.server.store import JobRecord, JobState, JobStore
from aalps.server.stores import open_store
from google.protobuf import json_format
from optuna.trial import TrialState

from tests import search_hooks
from tests.server.conftest import (
    NO_POSTGRES,
    POSTGRES_URL,
    ROOT,
    ServerProcess,
    slow_request,
    wait_for,
)

pytestmark = pytest.mark.slow


def _submit(server: ServerProcess, request: pb.OptimizeRequest) -> str:
    with server.channel() as channel:
        stub = aalps_pb2_grpc.AalpsServiceStub(channel)
        return stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job.job_id


def _trials(url: str, job_id: str) -> list[optuna.trial.FrozenTrial]:
    try:
        study = optuna.load_study(study_name=study_name(job_id), storage=url)
    except KeyError:
        return []
    return study.get_trials(deepcopy=False)


def _job(store: JobStore, job_id: str) -> JobRecord:
    job = store.get(job_id, "")
    assert job is not None
    return job


def _start_all(count: int, *args: str) -> list[ServerProcess]:
    """``count`` servers started at the same moment (they race on an empty database)."""
    with concurrent.futures.ThreadPoolExecutor(count) as threads:
        return list(threads.map(lambda _: ServerProcess(*args), range(count)))


# --- a search resumes, it does not restart ------------------------------------------------


def test_a_killed_job_resumes_its_study_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aalps.db'}"
    args = ("--storage", url, "--workers", "1", "--validation-workers", "1")
    n_trials = 1500  # several seconds: the kill must come while the search runs
    first = ServerProcess(*args)
    try:
        job_id = _submit(first, slow_request(tasks=4, n_trials=n_trials))

        def checkpointed() -> list[optuna.trial.FrozenTrial]:
            done = [t for t in _trials(url, job_id) if t.state == TrialState.COMPLETE]
            return done if len(done) >= 20 else []

        before = wait_for(checkpointed, timeout=90, interval=0.2)
    finally:
        first.kill()
    store = open_store(url, create=False)
    killed = _job(store, job_id)
    assert killed.state is JobState.RUNNING and killed.fencing_token == 1
    assert len(before) < n_trials, "the job finished before it could be killed"
    second = ServerProcess(*args)
    try:
        done = wait_for(
            lambda: (j := _job(store, job_id)).state.final and j, timeout=120, interval=0.2
        )
    finally:
        second.terminate()
    store.close()
    assert done.state is JobState.SUCCEEDED, done.error_message
    assert done.fencing_token == 2 and done.result_json
    trials = _trials(url, job_id)
    complete = {t.number: t.params for t in trials if t.state == TrialState.COMPLETE}
    assert all(complete.get(t.number) == t.params for t in before)  # earlier trials kept
    searched = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and t.user_attrs.get("kind") not in RECORDED_KINDS
    ]
    assert len(before) < len(searched) <= n_trials  # counted toward n_trials, not restarted
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert optuna.get_all_study_names(url) == [study_name(job_id)]


# --- PostgreSQL: takeover and chaos -------------------------------------------------------


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (aalps' and Optuna's tables alike)."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    base = sqlalchemy.engine.make_url(POSTGRES_URL)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"aalps_scale_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _holder(store: JobStore, job_id: str) -> str:
    job = _job(store, job_id)
    return job.lease_owner if job.state is JobState.RUNNING else ""


def _pid_of(owner: str) -> int:
    return int(owner.split(":")[1])  # replica ids are host:pid:random


def test_a_live_replica_takes_over_a_dead_replicas_job(fresh_postgres: str) -> None:
    url = fresh_postgres
    args = ("--storage", url, "--workers", "1", "--validation-workers", "1")
    replicas = _start_all(2, *args)  # default lease (10 s) and poll (2 s)
    store = open_store(url, create=False)
    try:
        job_id = _submit(replicas[0], slow_request(tasks=4, n_trials=100_000))
        owner = wait_for(lambda: _holder(store, job_id), timeout=60, interval=0.1)
        dead = next(r for r in replicas if r.process.pid == _pid_of(owner))
        dead.kill()
        killed_at = time.monotonic()
        new_owner = wait_for(
            lambda: (o := _holder(store, job_id)) != owner and o, timeout=30, interval=0.1
        )
        took = time.monotonic() - killed_at
        assert _pid_of(new_owner) != dead.process.pid and took <= 30
        assert _job(store, job_id).fencing_token == 2
    finally:
        for replica in replicas:
            replica.kill()
        store.close()


def test_a_batch_submitted_as_jobs_spreads_over_the_replicas(fresh_postgres: str) -> None:
    """Client.batch_jobs through one replica: both replicas run items (the claim history
    says who), and every item's plan is the one an uninterrupted in-process search gives."""
    url = fresh_postgres
    args = ("--storage", url, "--workers", "1", "--validation-workers", "1")
    args += ("--claim-poll-seconds", "0.5")
    replicas = _start_all(2, *args)
    store = open_store(url, create=False)
    requests = [slow_request(tasks=2, n_trials=300, seed=i) for i in range(8)]
    try:
        with Client.remote(replicas[0].address, timeout=60) as client:
            items = sorted(client.batch_jobs(requests, poll_seconds=0.1), key=lambda i: i.index)
            job_ids = [job.job_id for job in client.list_jobs()]
        owners = {_pid_of(c.owner) for job_id in job_ids for c in store.claims(job_id)}
        assert owners == {r.process.pid for r in replicas}
    finally:
        for replica in replicas:
            replica.kill()
        store.close()
    with Client.in_process() as local:
        for item, request in zip(items, requests, strict=True):
            assert item.report is not None, item.error
            alone = local.optimize(request)
            assert item.report.plan.expected_cost == pytest.approx(alone.plan.expected_cost)


def _tpe_request(seed: int) -> pb.OptimizeRequest:
    """A one-objective job searched by TPE alone (in replicas started with the hook)."""
    request = slow_request(tasks=2, n_trials=150, seed=seed)
    del request.search.objectives[:]
    return request


def _search_params(study: optuna.Study) -> list[dict[str, object]]:
    return [t.params for t in study.trials if t.user_attrs.get("kind") not in RECORDED_KINDS]


def test_chaos_three_replicas_killed_and_restarted(
    fresh_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """24 TPE jobs over 3 replicas, one SIGKILLed every few seconds and restarted: every job
    succeeds, the lease history never overlaps, no trial is left RUNNING, and every job,
    each interrupted one stored the trials and returned the plan of an uninterrupted run."""
    url = fresh_postgres
    args = (
        "--storage",
        url,
        "--workers",
        "1",
        "--validation-workers",
        "1",
        "--lease-seconds",
        "4",
        "--claim-poll-seconds",
        "1",
    )
    hook = {"PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests/server/tpe_only")))}
    start = functools.partial(ServerProcess, *args, env=hook)
    with concurrent.futures.ThreadPoolExecutor(3) as threads:  # at once, on an empty database
        replicas = list(threads.map(lambda _: start(), range(3)))
    store = open_store(url, create=False)
    chaos = random.Random(11)
    requests = [_tpe_request(seed=i) for i in range(24)]
    try:
        ids = [_submit(replicas[i % 3], request) for i, request in enumerate(requests)]
        end = time.monotonic() + 120
        while time.monotonic() < end:
            jobs = [_job(store, job_id) for job_id in ids]
            if all(j.state.final for j in jobs):
                break
            victim = chaos.randrange(3)
            replicas[victim].kill()
            time.sleep(chaos.uniform(0.5, 2.0))
            replicas[victim] = start()
            time.sleep(chaos.uniform(1.0, 3.0))
        jobs = [_job(store, job_id) for job_id in ids]
        assert [j.state for j in jobs] == [JobState.SUCCEEDED] * len(ids), [
            (j.state, j.error_message) for j in jobs if j.state is not JobState.SUCCEEDED
        ]
        takeovers, interrupted = 0, []
        for i, job_id in enumerate(ids):
            claims = store.claims(job_id)
            assert [c.token for c in claims] == list(range(1, len(claims) + 1))
            for previous, following in zip(claims, claims[1:], strict=False):
                assert previous.ended_at <= following.claimed_at, (job_id, previous, following)
                takeovers += previous.owner != following.owner
            if len(claims) > 1:
                interrupted.append(i)
            trials = _trials(url, job_id)
            assert trials and not [t for t in trials if t.state == TrialState.RUNNING]
    finally:
        for replica in replicas:
            replica.kill()
        store.close()
    assert interrupted, "no job was interrupted: the chaos did not reach a running search"
    search_hooks.apply(monkeypatch.setattr)
    for i in interrupted:
        job, request = jobs[i], requests[i]
        alone_url = f"sqlite:///{tmp_path / f'alone{i}.db'}"
        alone = optimize(request_from_proto(request), storage=alone_url, study_name="job")
        stored = optuna.load_study(study_name=study_name(job.job_id), storage=url)
        assert _search_params(stored) == _search_params(
            optuna.load_study(study_name="job", storage=alone_url)
        ), i
        answer = json_format.Parse(job.result_json, pb.OptimizeResponse())
        assert answer.plan.expected_cost == pytest.approx(alone.plan.outcome.expected_cost)
    print(
        f"chaos: {len(interrupted)} interrupted jobs, {takeovers} takeovers among {len(ids)} jobs"
    )
