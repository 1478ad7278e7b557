"""Honest counters (issue 13): trials reported are trials evaluated, with the reason when
fewer ran than asked; no best cost before one exists; labelled studies for dashboards.

Oracles: the trials counted in the Optuna study itself (the search's trials carry no
``kind`` of a recorded plan), the README's candidate count, and hand-written labels.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import aalps.optimizer.coupled_search
import aalps.optimizer.joint_search
import aalps.optimizer.search
import optuna
import pytest
from aalps.client import Client
from aalps.client.render import job_document, optimize_document, trial_count, write
from aalps.client.reports import SearchStatsReport
from aalps.client.results import job_from_proto
from aalps.cost_models.domain import Objective, SearchOptions
from aalps.optimizer import Progress, optimize
from aalps.optimizer.search import RECORDED_KINDS
from aalps.server.job_messages import job_to_proto
from aalps.server.job_study import label_job_study
from aalps.server.store import JobRecord, JobState

from tests.optimizer.conftest import cached_request, example


def _force_tpe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "NODE_BUDGET", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "USE_DP", False)


def _search_trials(study: optuna.Study) -> int:
    return sum(t.user_attrs.get("kind") not in RECORDED_KINDS for t in study.trials)


def test_an_exhaustive_search_says_all_candidates_were_scored() -> None:
    with Client.in_process() as client:
        report = client.optimize("k_task_routing")
    text = write(optimize_document(report), "table")
    assert "candidates  16, all scored" in text  # the README's count for this example
    assert "trials" not in text.split("Search", 1)[1]  # no "trials 2 of 200"
    assert report.stats.trials == 0 and report.stats.n_trials == 200


def test_trials_reported_are_the_trials_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    _force_tpe(monkeypatch)
    events: list[Progress] = []
    study = optuna.create_study()
    request = replace(cached_request(9), search=SearchOptions(n_trials=25, seed=7))
    result = optimize(
        request, progress=events.append, storage=study._storage, study_name=study.study_name
    )
    assert result.stats.trials == _search_trials(study) == 25
    assert (result.stats.n_trials, result.stats.stop_reason) == (25, "")
    assert len(study.trials) == 26  # + the baseline, recorded, not counted
    assert max(e.trials_done for e in events) == 25  # never 26/26 or 26/25
    assert all(e.trials_done <= e.n_trials <= 25 for e in events)


def test_a_search_that_stops_early_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    _force_tpe(monkeypatch)
    monkeypatch.setattr(aalps.optimizer.search, "PATIENCE", 5)
    study = optuna.create_study()
    request = replace(cached_request(9), search=SearchOptions(n_trials=200, seed=7))
    result = optimize(request, storage=study._storage, study_name=study.study_name)
    stats = result.stats
    assert stats.trials == _search_trials(study) < 200
    assert stats.stop_reason == "no better plan in the last 5 trials"
    shown = SearchStatsReport(
        stats.trials, False, 0.0, stats.candidates, stats.n_trials, stats.stop_reason
    )
    assert trial_count(shown) == f"{stats.trials} of 200 (no better plan in the last 5 trials)"


def test_a_pending_job_has_no_best_cost() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = JobRecord("j1", "", JobState.PENDING, now, now, "{}", n_trials=200)
    message = job_to_proto(record)
    assert not message.HasField("best_expected_cost")
    job = job_from_proto(message)
    assert job.best_expected_cost is None
    assert "best_expected_cost" not in job.to_dict()
    text = write(job_document(job), "table")
    assert "best expected cost  none yet" in text and "0/200" in text
    found = job_to_proto(replace(record, state=JobState.RUNNING, best_expected_cost=0.0))
    assert found.HasField("best_expected_cost") and found.best_expected_cost == 0.0


@pytest.mark.parametrize(
    ("objectives", "names"),
    [
        ((), ["log cost of a correct result"]),
        ((Objective.COST, Objective.LATENCY), ["log expected cost", "latency"]),
    ],
)
def test_a_job_study_is_labelled(objectives: tuple[Objective, ...], names: list[str]) -> None:
    storage = optuna.storages.InMemoryStorage()
    request = example("k_task_routing")
    request = replace(request, search=replace(request.search, objectives=objectives))
    label_job_study(storage, "aalps-job-j1", "j1", request)
    optimize(request, storage=storage, study_name="aalps-job-j1")
    study = optuna.load_study(study_name="aalps-job-j1", storage=storage)
    assert study.user_attrs == {"job_id": "j1", "graph": "k-task routing", "objectives": names}
    assert study.metric_names == names
    assert len(study.trials) >= 2  # optimize continued the labelled study
