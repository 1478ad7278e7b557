"""One suite, two backends: ``Client.in_process()`` and ``Client.remote()`` on a real server.

The reports must be the same whatever the transport: same bounds, separations and plans.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aalps.client import (
    BatchItem,
    Client,
    DeadlineExceededError,
    FailedPreconditionError,
    InfeasibleRequestError,
    InvalidArgumentError,
    JobState,
    NotFoundError,
    OptimizeReport,
)
from aalps.proto.aalps.v1 import aalps_pb2

from tests.client.conftest import (
    EXAMPLES,
    PAPER,
    bad_request,
    example_data,
    long_request,
    separations,
)


@pytest.mark.parametrize("name", sorted(PAPER))
def test_optimize_reproduces_the_paper(client: Client, name: str) -> None:
    plan_bound, baseline_bound, expected = PAPER[name]
    report = client.optimize(EXAMPLES / f"{name}.yaml")
    assert isinstance(report, OptimizeReport)
    assert report.plan.bound_text == plan_bound
    if baseline_bound is not None:
        assert report.baseline.bound_text == baseline_bound
    assert separations(report) == expected
    assert report.plan.expected_cost < report.baseline.expected_cost
    assert report.plan.tasks and report.plan.tasks[0].roles
    assert report.to_dict()["plan"]["bound"]["text"] == plan_bound


def test_request_forms_give_one_report(client: Client) -> None:
    """A path, a built-in example name, a dict and a message are the same request."""
    from aalps.proto.convert import dict_to_proto

    data = example_data("k_task_routing")
    message = aalps_pb2.OptimizeRequest()
    dict_to_proto(data, message)
    reports = [
        client.optimize(source)
        for source in (EXAMPLES / "k_task_routing.yaml", "k_task_routing", data, message)
    ]
    assert len({r.plan for r in reports}) == 1
    assert len({r.separation for r in reports}) == 1


def test_invalid_request_names_every_field(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.optimize(bad_request())
    fields = [v.field for v in caught.value.violations]
    assert any(f.startswith("graph.tasks[0].input_tokens") for f in fields), fields
    assert all(isinstance(v.description, str) and v.description for v in caught.value.violations)


def test_infeasible_request(client: Client) -> None:
    data = example_data("k_task_routing")
    data["graph"]["tasks"][0]["capability"] = "fly"
    data["graph"]["tasks"][0].pop("routing")
    with pytest.raises(InfeasibleRequestError) as caught:
        client.optimize(data)
    assert caught.value.reasons


def test_analyze_the_found_plan_agrees(client: Client) -> None:
    found = client.optimize("code_debugging")
    analysis = client.analyze("code_debugging", found.message.plan)
    assert analysis.plan.bound_text == found.plan.bound_text
    assert analysis.baseline.bound_text == found.baseline.bound_text
    assert separations(analysis) == separations(found)


def test_analyze_a_plan_file(client: Client, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "tasks:\n"
        "  - task_id: debug\n"
        "    operator: SCAN_AND_FIX\n"
        "    roles: [{role: detector, model: qa}, {role: fixer, model: dev}]\n"
    )
    report = client.analyze(EXAMPLES / "code_debugging.yaml", plan)
    assert report.plan.bound_text == "b*l**2*m_dev + k*l*m_qa"
    assert report.plan.tasks[0].operator == "SCAN_AND_FIX"


def test_analyze_a_bad_plan_names_the_field(client: Client) -> None:
    plan = {"tasks": [{"task_id": "debug", "operator": "ROUTE", "roles": []}]}
    with pytest.raises(InvalidArgumentError) as caught:
        client.analyze("code_debugging", plan)
    assert all(v.field.startswith("plan") for v in caught.value.violations), caught.value


def test_batch_reports_each_entry(client: Client, tmp_path: Path) -> None:
    items = list(
        client.batch(["k_task_routing", bad_request(), tmp_path / "missing.yaml", "code_debugging"])
    )
    assert all(isinstance(i, BatchItem) for i in items)
    by_index = {item.index: item for item in items}
    assert sorted(by_index) == [0, 1, 2, 3]
    assert by_index[0].report is not None and by_index[0].report.plan.bound_text == "m_s*n"
    assert by_index[3].report is not None
    for index in (1, 2):
        assert isinstance(by_index[index].error, InvalidArgumentError)
    assert by_index[1].error is not None
    assert any("graph.tasks[0]" in v.field for v in by_index[1].error.violations)


def test_job_lifecycle(client: Client) -> None:
    job = client.submit("evolutionary_optimization")
    assert job.state in (JobState.PENDING, JobState.RUNNING, JobState.SUCCEEDED)
    snapshots = list(client.watch(job.job_id, timeout=300))
    trials = [s.trials_done for s in snapshots]
    assert trials == sorted(trials), "progress must be monotone"
    final = snapshots[-1]
    assert final.state is JobState.SUCCEEDED and final.done
    assert final.result is not None
    assert final.result.plan.bound_text == "k*l**2*m_u"
    again = client.get_job(job.job_id)
    assert again.result is not None and again.result.plan == final.result.plan
    assert again.create_time is not None and again.update_time is not None


def test_cancel_a_finished_job_fails_and_leaves_it_intact(client: Client) -> None:
    """aalps.proto: cancelling a finished job is FAILED_PRECONDITION; its state is final."""
    job = client.submit("k_task_routing")
    list(client.watch(job.job_id, timeout=300))
    with pytest.raises(FailedPreconditionError, match="finished"):
        client.cancel(job.job_id)
    again = client.get_job(job.job_id)
    assert again.state is JobState.SUCCEEDED and again.result is not None


def test_unknown_job_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError):
        client.get_job("no-such-job")


def test_submit_rejects_bad_input_at_once(client: Client) -> None:
    with pytest.raises(InvalidArgumentError):
        client.submit(bad_request())


def test_list_jobs_follows_pages(client: Client) -> None:
    ids = [client.submit("k_task_routing").job_id for _ in range(3)]
    for job_id in ids:
        list(client.watch(job_id, timeout=300))
    listed = [job.job_id for job in client.list_jobs(page_size=2)]
    assert len(listed) == len(set(listed))
    positions = [listed.index(job_id) for job_id in ids]
    assert positions == sorted(positions, reverse=True), "newest first"
    succeeded = {job.job_id for job in client.list_jobs(state="SUCCEEDED", page_size=1)}
    assert set(ids) <= succeeded
    assert not set(ids) & {job.job_id for job in client.list_jobs(JobState.FAILED)}


def test_a_deadline_bounds_the_search(client: Client) -> None:
    """The search stops in time and returns its best plan (or DEADLINE_EXCEEDED)."""
    start = time.monotonic()
    try:
        report = client.optimize(long_request(), timeout=3)
    except DeadlineExceededError:
        pass
    else:
        assert report.plan.tasks
    assert time.monotonic() - start < 10


def test_cancel_a_running_job_keeps_the_best_plan(client: Client) -> None:
    job = client.submit(long_request())
    deadline = time.monotonic() + 120
    while (state := client.get_job(job.job_id).state) is JobState.PENDING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    assert state is JobState.RUNNING
    client.cancel(job.job_id)
    final = list(client.watch(job.job_id, timeout=120))[-1]
    assert final.state is JobState.CANCELLED
    assert final.error is None
