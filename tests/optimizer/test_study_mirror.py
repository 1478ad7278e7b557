"""The caller's RDB study gets the in-memory search's trials in few transactions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import aalps.optimizer.search
import optuna
import pytest
import sqlalchemy
from aalps.cost_models.domain import OptimizeRequest, SearchOptions
from aalps.optimizer import OptimizeResult, optimize
from aalps.optimizer.search import RECORDED_KINDS, OptunaSearch
from aalps.optimizer.study_mirror import CHECKPOINT_TRIALS, write_trials

from tests import search_hooks
from tests.optimizer.conftest import cached_request


def _commits(storage: optuna.storages.RDBStorage) -> list[int]:
    counted = [0]
    sqlalchemy.event.listen(
        storage.engine, "commit", lambda _: counted.__setitem__(0, counted[0] + 1)
    )
    return counted


def test_tpe_trials_reach_the_stored_study_in_batches(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    search_hooks.apply(monkeypatch.setattr)
    request = replace(cached_request(9), search=SearchOptions(n_trials=60, seed=0))
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'studies.db'}")
    optuna.create_study(storage=storage, study_name="job")  # as the job worker does
    commits = _commits(storage)
    result = optimize(request, storage=storage, study_name="job")
    stored = optuna.load_study(study_name="job", storage=storage).trials
    assert result.stats.method == "tpe"
    assert len(stored) == result.stats.trials + 1 > CHECKPOINT_TRIALS  # + the baseline
    assert [t.number for t in stored] == list(range(len(stored)))
    values = [t.value for t in stored]
    assert all(v is not None for v in values)
    kinds = {t.user_attrs.get("kind") for t in stored}
    assert {"warm start", "baseline"} <= kinds
    best = min(
        t.user_attrs["expected_cost"]
        for t in stored
        if t.user_attrs.get("kind") != "baseline" and all(c <= 0 for c in t.constraints.values())
    )
    assert best == pytest.approx(result.plan.outcome.expected_cost)
    # Loading the study, one checkpoint and the final copy: a handful of commits, not one
    # per suggest, attribute and value (hundreds for 60 trials).
    assert commits[0] <= 10


def test_a_resumed_study_continues_its_numbering(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    request = cached_request(2)
    optimize(request, storage=url, study_name="job")
    again = optimize(request, storage=url, study_name="job")
    stored = optuna.load_study(study_name="job", storage=url).trials
    assert again.stats.trials == 0  # exact: only the optimum and baseline recorded
    assert [t.number for t in stored] == list(range(4))


def test_write_trials_is_one_transaction(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = optuna.create_study()
    source.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'studies.db'}")
    target = optuna.create_study(storage=storage, study_name="copy")
    commits = _commits(storage)
    write_trials(target, source.trials)
    assert commits[0] == 1
    copied = optuna.load_study(study_name="copy", storage=storage).trials
    assert [t.params for t in copied] == [t.params for t in source.trials]
    assert [t.value for t in copied] == [t.value for t in source.trials]


def _varied_trials() -> list[optuna.trial.FrozenTrial]:
    """Finished trials with every kind of row: params of three distributions, two values
    (one infinite), user and system attributes, intermediate values (one NaN), a failure."""
    study = optuna.create_study(directions=["minimize", "minimize"])
    for i in range(6):
        trial = study.ask()
        trial.suggest_int("lead", 1, 30)
        trial.suggest_float("p", 0.01, 1.0, log=True)
        trial.suggest_categorical("model", ["qa", "dev", None])
        trial.set_user_attr("plan", {"task": "debug", "i": i})
        study._storage.set_trial_system_attr(trial._trial_id, "source", "aalps")
        at_step = float("nan") if i == 2 else i / 2  # (report() is single-objective only)
        study._storage.set_trial_intermediate_value(trial._trial_id, i, at_step)
        if i == 4:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, [float(i), float("inf") if i == 3 else -i])
    return study.get_trials(deepcopy=True)


def test_bulk_rows_read_back_as_optunas_own_add_trials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the oracle: Optuna's own per-trial path into another database
    trials = _varied_trials()
    ours = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'ours.db'}", directions=["minimize", "minimize"]
    )
    theirs = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'theirs.db'}", directions=["minimize", "minimize"]
    )
    write_trials(ours, trials[:3])
    write_trials(ours, trials[3:])  # numbering continues after the existing trials
    theirs.add_trials(trials)
    for mine, reference in zip(ours.get_trials(), theirs.get_trials(), strict=True):
        assert mine.number == reference.number
        assert mine.state == reference.state
        assert mine.values == reference.values
        assert mine.params == reference.params
        assert mine.distributions == reference.distributions
        assert mine.user_attrs == reference.user_attrs
        assert mine.system_attrs == reference.system_attrs
        assert str(mine.intermediate_values) == str(reference.intermediate_values)  # NaN
        assert mine.datetime_start == reference.datetime_start
        assert mine.datetime_complete == reference.datetime_complete
    assert [t.number for t in ours.get_trials()] == list(range(6))


def test_a_failed_checkpoint_keeps_its_trials_for_the_next(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import aalps.optimizer.study_mirror as mirror_module

    stored = optuna.create_study(storage=f"sqlite:///{tmp_path / 'stored.db'}")
    working = optuna.create_study()
    mirror = mirror_module.StudyMirror(working, stored)
    real = mirror_module.write_trials
    calls = [0]

    def flaky(
        study: optuna.Study, trials: list[optuna.trial.FrozenTrial], fence: object = None
    ) -> bool:
        calls[0] += 1
        if calls[0] == 1:  # the database is gone for the first checkpoint
            raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("server closed"))
        return real(study, trials)

    monkeypatch.setattr(mirror_module, "write_trials", flaky)
    for i in range(CHECKPOINT_TRIALS):
        working.enqueue_trial({"x": float(i)})
        working.optimize(lambda t: t.suggest_float("x", 0, 100), n_trials=1)
    mirror.checkpoint()  # fails inside: no error, nothing copied
    assert calls[0] == 1 and len(stored.get_trials()) == 0
    mirror.sync()  # the next copy carries every trial
    assert [t.params["x"] for t in stored.get_trials()] == [
        float(i) for i in range(CHECKPOINT_TRIALS)
    ]


def _tpe_only(monkeypatch: pytest.MonkeyPatch) -> None:
    search_hooks.apply(monkeypatch.setattr)


def _interrupted_then_resumed(
    url: str, request: OptimizeRequest, before_resume: Callable[[], None]
) -> OptimizeResult:
    """An attempt stopped after 60 trials, then a resume with one trial left."""
    seen: list[int] = []
    optimize(
        request,
        storage=url,
        study_name="job",
        progress=lambda p: seen.append(p.trials_done),
        should_stop=lambda: bool(seen) and seen[-1] >= 60,
    )
    before_resume()
    search = replace(request.search, n_trials=1, seed=request.search.seed + 100)
    return optimize(replace(request, search=search), storage=url, study_name="job")


def _stored_feasible(url: str) -> list[optuna.trial.FrozenTrial]:
    """The stored study's feasible search trials (both attempts)."""
    stored = optuna.load_study(study_name="job", storage=url).trials
    search_trials = [t for t in stored if t.user_attrs.get("kind") not in RECORDED_KINDS]
    assert len(search_trials) > 60
    return [
        t
        for t in search_trials
        if t.state == optuna.trial.TrialState.COMPLETE
        and all(c <= 0 for c in t.constraints.values())
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_resumed_search_returns_the_best_plan_of_every_attempt(
    tmp_path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:  # type: ignore[no-untyped-def]
    """The resume runs one trial and no warm start, so its own trials alone would rarely
    hold the best plan: the answer must come from the first attempt's trials."""
    _tpe_only(monkeypatch)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    request = replace(cached_request(9), search=SearchOptions(n_trials=80, seed=seed))
    run = OptunaSearch.run
    result = _interrupted_then_resumed(
        url,
        request,
        before_resume=lambda: monkeypatch.setattr(
            OptunaSearch, "run", lambda self, n, starts: run(self, n, [])
        ),
    )
    best = min(t.user_attrs["expected_cost"] for t in _stored_feasible(url))
    assert result.plan.outcome.expected_cost == pytest.approx(best)


@pytest.mark.parametrize(("seed", "stop_at"), [(0, 70), (1, 55), (2, 20)])
def test_an_interrupted_search_ends_as_the_uninterrupted_one(
    tmp_path, monkeypatch: pytest.MonkeyPatch, seed: int, stop_at: int
) -> None:  # type: ignore[no-untyped-def]
    """Stopped after ``stop_at`` trials and resumed with what is left of ``n_trials`` (as a
    job taken over does): the same trials, in the same order, and the same plan."""
    _tpe_only(monkeypatch)
    monkeypatch.setattr(aalps.optimizer.search, "PATIENCE", 10_000)
    request = replace(cached_request(9), search=SearchOptions(n_trials=90, seed=seed))
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = optimize(request, storage=whole_url, study_name="job")
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    seen: list[int] = []
    optimize(
        request,
        storage=url,
        study_name="job",
        progress=lambda p: seen.append(p.trials_done),
        should_stop=lambda: bool(seen) and seen[-1] >= stop_at,
    )
    done = len(optuna.load_study(study_name="job", storage=url).trials)
    assert done == stop_at  # every search trial, nothing recorded by the stopped attempt
    left = replace(request.search, n_trials=request.search.n_trials - done)
    resumed = optimize(replace(request, search=left), storage=url, study_name="job")

    def search_params(where: str) -> list[dict[str, object]]:
        trials = optuna.load_study(study_name="job", storage=where).trials
        return [t.params for t in trials if t.user_attrs.get("kind") not in RECORDED_KINDS]

    assert search_params(url) == search_params(whole_url)
    assert resumed.plan.outcome.expected_cost == whole.plan.outcome.expected_cost
    assert resumed.plan.plan == whole.plan.plan
