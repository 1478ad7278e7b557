"""Test-only switches of the optimizer (never reachable from the wire).

:data:`TPE_ONLY` turns off every exact method, so a search of any size runs Optuna's TPE
trial by trial: the tests that interrupt a search and resume it need a search that has
trials to lose. The test process applies it with ``monkeypatch``; a server subprocess gets
it from ``tests/server/tpe_only/sitecustomize.py`` (that folder on ``PYTHONPATH``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["TPE_ONLY", "apply"]

#: (module, attribute) -> value: no enumeration, no branch and bound, no dynamic programming.
TPE_ONLY: dict[tuple[str, str], object] = {
    ("aalps.optimizer.joint_search", "ENUMERATION_LIMIT"): 1,
    ("aalps.optimizer.coupled_search", "NODE_BUDGET"): 1,
    ("aalps.optimizer.coupled_search", "USE_DP"): False,
}


def apply(setattr_: Callable[[object, str, object], None] = setattr) -> None:
    """Set every switch of :data:`TPE_ONLY` (``monkeypatch.setattr`` in a test)."""
    for (module, name), value in TPE_ONLY.items():
        target = importlib.import_module(module)
        assert hasattr(target, name), (module, name)
        setattr_(target, name, value)
