"""The search's seeded sampler is made when a search runs trials, not with the study: an
exactly solved request makes none, and the Optuna phases get the one the request's seed
and objectives call for."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aalps.optimizer.api
import aalps.optimizer.coupled_search
import aalps.optimizer.joint_search
import optuna
import pytest
from aalps.cost_models.domain import Objective, SearchOptions
from aalps.optimizer import optimize
from aalps.optimizer.search import TrialSeededTPESampler

from tests.optimizer.conftest import cached_request, example


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, Any]]:
    """Record every sampler the joint search makes: (kind, seed, sampler)."""
    made: list[tuple[str, int, Any]] = []
    for name in ("tpe_sampler", "nsga2_sampler"):
        real = getattr(aalps.optimizer.joint_search, name)

        def make(seed: int, real: Any = real, name: str = name) -> Any:
            sampler = real(seed)
            made.append((name, seed, sampler))
            return sampler

        monkeypatch.setattr(aalps.optimizer.joint_search, name, make)
    return made


def _force_optuna(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "NODE_BUDGET", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "USE_DP", False)


def test_an_exact_method_makes_no_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _spy(monkeypatch)
    study = optuna.create_study()
    result = optimize(
        example("code_debugging"), storage=study._storage, study_name=study.study_name
    )
    assert result.stats.exhaustive and made == []
    assert {t.user_attrs["kind"] for t in study.trials} == {"optimum", "baseline"}


@pytest.mark.parametrize(
    ("objectives", "kind"),
    [
        ((), "tpe_sampler"),
        ((Objective.COST, Objective.FAILURE_PROBABILITY), "nsga2_sampler"),
        ((Objective.COST, Objective.LATENCY), "nsga2_sampler"),
    ],
)
def test_the_optuna_phase_gets_the_seeded_sampler(
    monkeypatch: pytest.MonkeyPatch, objectives: tuple[Objective, ...], kind: str
) -> None:
    _force_optuna(monkeypatch)
    made = _spy(monkeypatch)
    search = SearchOptions(n_trials=20, seed=7, objectives=objectives)
    optimize(replace(cached_request(5), search=search))
    assert [(k, s) for k, s, _ in made] == [(kind, 7)]
    if kind == "tpe_sampler":
        assert isinstance(made[0][2], TrialSeededTPESampler)
    else:
        assert isinstance(made[0][2], optuna.samplers.NSGAIISampler)


def test_without_storage_no_study_is_made_unless_a_search_runs_trials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[object] = []
    real = aalps.optimizer.joint_search.create_study

    def spy(**kwargs: Any) -> optuna.Study:
        study = real(**kwargs)
        made.append(study)
        return study

    monkeypatch.setattr(aalps.optimizer.joint_search, "create_study", spy)
    monkeypatch.setattr(aalps.optimizer.api, "create_study", spy)
    optimize(example("code_debugging"))
    assert made == []
    _force_optuna(monkeypatch)
    request = replace(cached_request(5), search=SearchOptions(n_trials=20, seed=7))
    plain = optimize(request)
    assert len(made) == 1
    kept = made[0]
    assert isinstance(kept, optuna.Study)
    assert {t.user_attrs.get("kind") for t in kept.trials} <= {"warm start", None}  # none recorded
    stored = optuna.create_study()
    again = optimize(request, storage=stored._storage, study_name=stored.study_name)
    assert again.plan == plain.plan  # the same search, kept or not
    assert [
        t.params for t in stored.trials if t.user_attrs.get("kind") not in {"optimum", "baseline"}
    ] == [t.params for t in kept.trials]
