"""A task plan pickled in a process with another string-hash seed hashes right here.

:class:`~aalps.cost_models.domain.TaskPlan` remembers its hash once worked out; a pickle that
carried it would key dicts and sets by the other process's string hashes.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan

_CHILD = """
import pickle, sys
from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan
plan = TaskPlan("t1", Operator.DIRECT, (RoleAssignment("worker", "m0", 3),), (("ahead", 2),))
hash(plan)
sys.stdout.buffer.write(pickle.dumps(plan))
"""


def _plan() -> TaskPlan:
    return TaskPlan("t1", Operator.DIRECT, (RoleAssignment("worker", "m0", 3),), (("ahead", 2),))


def test_a_plan_from_another_hash_seed_finds_its_equal() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    if os.environ.get("PYTHONHASHSEED") == "12345":
        env["PYTHONHASHSEED"] = "54321"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, check=True, timeout=120
    )
    theirs = pickle.loads(done.stdout)
    ours = _plan()
    assert theirs == ours
    assert hash(theirs) == hash(ours)
    assert theirs in {ours: 1}


def test_a_hashed_plan_round_trips_in_process() -> None:
    plan = _plan()
    hash(plan)
    copy = pickle.loads(pickle.dumps(plan))
    assert copy == plan and hash(copy) == hash(plan)
    assert copy.roles[0].votes == 3 and copy.param_map == {"ahead": 2}
