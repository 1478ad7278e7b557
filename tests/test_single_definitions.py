"""Nothing defined twice: one job state, one cancel error, one deadline error, one of each cap.

The names below were once defined in two modules each (the client and the server, or the
optimizer and the client) and had drifted. The test reads every project module with
:mod:`ast` (the same walk as the import-cycle test) and asserts each is defined in at most
one; then that the names users know are the same class objects wherever they import them,
and that every error the client raises is an :class:`~aalps.cost_models.errors.AalpsError`.
"""

from __future__ import annotations

import ast
import inspect
from collections import defaultdict

import aalps.client.errors
import aalps.cost_models.errors
import aalps.optimizer
import aalps.optimizer.result
import aalps.server.errors
import aalps.server.store
from aalps.client import results
from aalps.cost_models.errors import AalpsError

import aalps
from tests.test_imports import project_sources

#: Classes defined once (aliases such as ``SearchCancelled = CancelledError`` are not
#: definitions); ``SearchCancelled`` is only an alias now, so it has no class statement.
SINGLE_CLASSES = {"JobState", "CancelledError", "SearchCancelled", "DeadlineExceededError"}
#: Module-level constants defined once.
SINGLE_CONSTANTS = {"MAX_PAGE_SIZE", "DEADLINE_SHARE"}


def _definitions() -> dict[str, list[str]]:
    """Name -> the modules that define it (a class statement, or a module-level assignment)."""
    sources, _ = project_sources()
    where: dict[str, list[str]] = defaultdict(list)
    for module, source in sources.items():
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in SINGLE_CLASSES:
                where[node.name].append(module)
        for node in tree.body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in SINGLE_CONSTANTS:
                    where[target.id].append(module)
    return where


def test_each_is_defined_once() -> None:
    where = _definitions()
    twice = {name: modules for name, modules in where.items() if len(modules) > 1}
    assert not twice, f"defined in more than one module: {twice}"
    for name in ("JobState", "CancelledError", "DeadlineExceededError", *SINGLE_CONSTANTS):
        assert len(where[name]) == 1, f"{name} is defined nowhere"
    assert where["SearchCancelled"] == [], "SearchCancelled is an alias of CancelledError"


def test_the_names_users_know_are_one_class() -> None:
    errors = aalps.cost_models.errors
    cancel, deadline = errors.CancelledError, errors.DeadlineExceededError
    assert aalps.client.errors.CancelledError is cancel
    assert aalps.optimizer.SearchCancelled is cancel
    assert aalps.optimizer.result.SearchCancelled is cancel
    assert aalps.CancelledError is cancel
    assert aalps.client.errors.DeadlineExceededError is deadline
    assert aalps.server.errors.DeadlineExceededError is deadline
    assert aalps.DeadlineExceededError is deadline
    assert issubclass(deadline, TimeoutError)  # what the worker pool's timeouts were
    assert results.JobState is aalps.server.store.JobState
    assert aalps.client.errors.AalpsClientError is aalps.AalpsClientError
    assert aalps.AalpsError is AalpsError


def test_every_client_error_is_an_aalps_error() -> None:
    classes = [
        value
        for _, value in inspect.getmembers(aalps.client.errors, inspect.isclass)
        if issubclass(value, BaseException)
    ]
    assert len(classes) >= 9
    for cls in classes:
        assert issubclass(cls, AalpsError), cls
    assert issubclass(aalps.client.errors.AalpsClientError, AalpsError)


def test_job_state_serves_both_sides() -> None:
    state = results.JobState
    assert [s.value for s in state] == [
        "JOB_STATE_UNSPECIFIED",
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "CANCELLED",
    ]
    assert [s.final for s in state] == [False, False, False, True, True, True]
    assert state.number("CANCELLED") == 5
    assert state.number(state.PENDING) == 1
