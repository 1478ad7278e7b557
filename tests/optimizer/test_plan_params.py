"""Recorded trials carry the parameters and distributions Optuna's own suggestions make,
although :class:`~aalps.optimizer.plan_params.PlanParams` shares equal distributions."""

from __future__ import annotations

import optuna
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.plan_params import PlanParams
from aalps.optimizer.space import Metrics

from tests.optimizer.random_requests import wide_request_data


def _params(request: OptimizeRequest) -> PlanParams:
    spaces = build_spaces(PlanEvaluator(request), Metrics.of(request), far=None)
    assert spaces is not None
    return PlanParams(spaces)


def _suggested(params: PlanParams, values: dict[str, object]) -> optuna.trial.FrozenTrial:
    """The trial a fresh study makes when it is told ``values`` and the walk asks it: each
    distribution built by Optuna from the suggestion's arguments."""
    study = optuna.create_study()
    study.enqueue_trial(values)
    trial = study.ask()
    params.suggest(trial)
    study.tell(trial, 0.0)
    return study.trials[0]


def test_recorded_trials_match_optunas_own_suggestions() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed, tasks in ((1, 40), (3, 25)):
        request = load_request(wide_request_data(seed, tasks, 8))
        storage = optuna.storages.InMemoryStorage()
        optimize(request, storage=storage, study_name="job")
        stored = optuna.load_study(study_name="job", storage=storage).trials
        assert {t.user_attrs["kind"] for t in stored} >= {"optimum", "baseline"}
        params = _params(request)
        for recorded in stored:
            reference = _suggested(params, recorded.params)
            assert reference.params == recorded.params
            assert reference.distributions == recorded.distributions
            # every task is named: nothing was left out
            tasks_named = {name.split(".")[0] for name in recorded.params}
            assert tasks_named == {t.id for t in request.graph.tasks}


def test_equal_distributions_are_one_object() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = _params(load_request(wide_request_data(1, 40, 8)))
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    plan = params.suggest(trial)
    values, distributions = params.encode(plan)
    assert values == trial.params
    assert distributions == trial.distributions  # Optuna's own, built per suggestion
    # fewer objects than parameters: the equal ones are shared
    assert len({id(d) for d in distributions.values()}) < len(distributions) / 2
