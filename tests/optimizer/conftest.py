"""Shared fixtures of the optimizer tests: quiet Optuna, cached brute-force answers."""

from __future__ import annotations

import functools
from pathlib import Path

import optuna
import pytest
import yaml
from aalps.cost_models.domain import OptimizeRequest, Plan
from aalps.cost_models.evaluation import PlanOutcome
from aalps.cost_models.loading import load_request

from tests.optimizer.brute_force import brute_force
from tests.optimizer.random_requests import random_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@functools.cache
def cached_request(seed: int) -> OptimizeRequest:
    return random_request(seed)


@functools.cache
def cached_optimum(seed: int) -> tuple[Plan, PlanOutcome] | None:
    return brute_force(cached_request(seed))


def example(name: str) -> OptimizeRequest:
    return load_request(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))
