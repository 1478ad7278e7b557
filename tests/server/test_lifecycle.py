"""Long searches: progress, cancellation, deadlines, and surviving a crash or a shutdown.

These start searches that take seconds, and server subprocesses that are killed: they are
marked ``slow`` (deselect with ``-m "not slow"``) but belong in every full run.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import optuna
import pytest
import sqlalchemy
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.server.config import ServerConfig
from aalps.server.store import JobState
from aalps.server.stores import open_store
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.server.conftest import (
    NO_POSTGRES,
    POSTGRES_URL,
    ServerProcess,
    ServerThread,
    example_request,
    slow_request,
    wait_for,
)

pytestmark = pytest.mark.slow


def _get(stub: aalps_pb2_grpc.AalpsServiceStub, job_id: str) -> pb.Job:
    return stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10).job


def _running_with_progress(stub: aalps_pb2_grpc.AalpsServiceStub, job_id: str) -> bool:
    job = _get(stub, job_id)
    assert job.state in (pb.PENDING, pb.RUNNING), job
    return job.state == pb.RUNNING and job.trials_done > 0


# --- progress and cancellation ------------------------------------------------------------


def test_watch_streams_monotone_progress_to_the_result(
    stub: aalps_pb2_grpc.AalpsServiceStub,
) -> None:
    request = slow_request(n_trials=3000)  # ~2 ms a trial in memory: a few seconds of progress
    job_id = stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job.job_id
    snapshots = [r.job for r in stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=120)]
    states = [s.state for s in snapshots]
    assert states[-1] == pb.SUCCEEDED and states == sorted(states)  # PENDING < RUNNING < ...
    trials = [s.trials_done for s in snapshots]
    assert trials == sorted(trials) and len(set(trials)) > 2, trials
    costs = [s.best_expected_cost for s in snapshots if s.best_expected_cost > 0]
    assert costs == sorted(costs, reverse=True)
    last = snapshots[-1]
    assert last.result.plan.bound.text and last.result.stats.trials >= 1
    assert last.best_expected_cost == pytest.approx(last.result.plan.expected_cost)


def test_cancel_stops_a_running_search_within_a_second(
    stub: aalps_pb2_grpc.AalpsServiceStub,
) -> None:
    job_id = stub.SubmitJob(pb.SubmitJobRequest(request=slow_request()), timeout=30).job.job_id
    wait_for(lambda: _running_with_progress(stub, job_id), timeout=60)
    start = time.monotonic()
    cancelled = stub.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=10).job
    assert cancelled.state in (pb.RUNNING, pb.CANCELLED)
    job = wait_for(
        lambda: (j := _get(stub, job_id)).state == pb.CANCELLED and j, timeout=5, interval=0.02
    )
    assert time.monotonic() - start < 1.0
    assert job.result.plan.tasks  # the best plan found before the cancel is kept
    with pytest.raises(grpc.RpcError) as info:
        stub.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_expired_deadline_frees_the_workers(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    heavy = slow_request(tasks=60, n_trials=50_000)  # within max_trial_tasks
    with concurrent.futures.ThreadPoolExecutor(2) as threads:  # one call per search process
        calls = [threads.submit(stub.Optimize, heavy, timeout=0.3) for _ in range(2)]
        for call in calls:
            with pytest.raises(grpc.RpcError) as info:
                call.result()
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    start = time.monotonic()
    assert stub.Optimize(example_request("k_task_routing"), timeout=30).plan.bound.text
    assert time.monotonic() - start < 5.0


def test_client_cancellation_stops_the_search(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    futures = [stub.Optimize.future(slow_request(), timeout=120) for _ in range(2)]
    time.sleep(1.0)
    for future in futures:
        future.cancel()
    start = time.monotonic()
    assert stub.Optimize(example_request("k_task_routing"), timeout=30).plan.bound.text
    assert time.monotonic() - start < 5.0


# --- crashes and restarts -----------------------------------------------------------------


def _session_processes(session_id: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session_id:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: an SQLite file, or a fresh PostgreSQL schema (job
    table and Optuna's tables alike), dropped afterwards so that runs never collide."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aalps.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    schema = f"aalps_t{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


def test_job_survives_sigkill_and_completes_after_restart(storage: str) -> None:
    url = storage
    args = ("--storage", url, "--workers", "1")
    first = ServerProcess(*args)
    try:
        with first.channel() as channel:
            stub = aalps_pb2_grpc.AalpsServiceStub(channel)
            request = slow_request(n_trials=4000)  # runs several seconds: killed mid-search
            job_id = stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job.job_id
            wait_for(lambda: _running_with_progress(stub, job_id), timeout=60)
            progress = _get(stub, job_id).trials_done
    finally:
        first.kill()
    # the search processes exit with the server: nothing keeps writing the store
    wait_for(lambda: not _session_processes(first.process.pid), timeout=10)
    store = open_store(url, create=False)
    job = store.get(job_id, "")
    assert job is not None and job.state is JobState.RUNNING and job.attempts == 1
    assert job.trials_done >= progress and job.lease_owner
    second = ServerProcess(*args)
    try:
        with second.channel() as channel:
            stub = aalps_pb2_grpc.AalpsServiceStub(channel)
            done = wait_for(
                lambda: (j := _get(stub, job_id)).state == pb.SUCCEEDED and j, timeout=120
            )
    finally:
        second.terminate()
    assert done.result.plan.bound.text and done.trials_done >= progress
    final = store.get(job_id, "")
    assert final is not None and final.attempts == 2 and final.fencing_token == 2
    store.close()
    studies = set(optuna.get_all_study_names(url))
    assert f"aalps-job-{job_id}" in studies  # one study, continued by the second attempt


def test_sigterm_releases_running_jobs_for_another_replica(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aalps.db'}"
    server = ServerProcess("--storage", url, "--workers", "1")
    try:
        with server.channel() as channel:
            stub = aalps_pb2_grpc.AalpsServiceStub(channel)
            request = slow_request(n_trials=10_000)  # outlasts the grace period
            job_id = stub.SubmitJob(pb.SubmitJobRequest(request=request), timeout=30).job.job_id
            wait_for(lambda: _running_with_progress(stub, job_id), timeout=60)
    finally:
        start = time.monotonic()
        code = server.terminate(timeout=30)
    assert code == 0 and time.monotonic() - start < 15
    store = open_store(url, create=False)
    job = store.get(job_id, "")
    store.close()
    assert job is not None and job.state is JobState.PENDING and not job.result_json
    assert job.trials_done > 0 and not job.lease_owner and job.attempts == 0


# --- a search process dies; the server shuts down -----------------------------------------


def _search_processes(server: ServerThread) -> list[multiprocessing.Process]:
    executor = server.server._pool._executor  # test-only peek at the pool's processes
    return list(executor._processes.values())  # type: ignore[attr-defined]


def test_a_dead_search_process_fails_one_call_and_retries_the_job(
    running_server: ServerThread, stub: aalps_pb2_grpc.AalpsServiceStub
) -> None:
    submitted = stub.SubmitJob(pb.SubmitJobRequest(request=slow_request(n_trials=3000)), timeout=30)
    job_id = submitted.job.job_id
    wait_for(lambda: _running_with_progress(stub, job_id), timeout=60)
    call = stub.Optimize.future(slow_request(), timeout=60)
    time.sleep(0.5)
    for process in _search_processes(running_server):
        os.kill(process.pid, signal.SIGKILL)  # as the OOM killer would
    with pytest.raises(grpc.RpcError) as info:
        call.result()
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert stub.Optimize(example_request("k_task_routing"), timeout=60).plan.bound.text
    job = wait_for(lambda: (j := _get(stub, job_id)).state == pb.SUCCEEDED and j, timeout=60)
    assert job.result.plan.tasks


def test_shutdown_reports_not_serving(tmp_path: Path) -> None:
    server = ServerThread(
        ServerConfig(port=0, storage=f"sqlite:///{tmp_path / 'aalps.db'}", workers=1)
    )
    with server.channel() as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="aalps.v1.AalpsService"), timeout=30
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        stopping = threading.Thread(target=server.stop, kwargs={"grace": 0.5})
        stopping.start()
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        stopping.join(30)
    assert not stopping.is_alive()
