"""What of a task's shape its plans' figures read, and a key equal only for values every
operation treats alike.

A task plan's figures depend on its task through the :class:`~.operators.TaskShape` fields
its operator declares (:attr:`~.operators.OperatorSpec.shape_fields`, checked by
``tests/cost_models/test_shape_fields.py``), those the scoring reads around the schedule
(:data:`SCORING_FIELDS`) and, on a task with an acceptance, what its unverified attempts
read (:data:`UNVERIFIED_FIELDS`). Three shares rest on that one rule: the numeric figures of
look-alike tasks (:mod:`aalps.optimizer.operator_twins`), their symbolic costs
(:mod:`.symbolic_costs`) and their far-point mpmath successes (:mod:`.ray_siblings`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable

__all__ = ["SCORING_FIELDS", "UNVERIFIED_FIELDS", "exact_values", "read_fields"]

#: The shape fields the scoring reads besides the operator's schedule: the prompt (cached
#: prompts).
SCORING_FIELDS = frozenset({"prompt"})
#: What unverified attempts read (success times the acceptance per block).
UNVERIFIED_FIELDS = frozenset({"block_count", "acceptance"})


def read_fields(declared: frozenset[str] | None, unverified: bool) -> tuple[str, ...] | None:
    """The shape fields (sorted) a task plan's figures read, given its operator's
    ``declared`` fields and whether its attempts are unverified; None when the operator
    declares none (it reads the task otherwise)."""
    if declared is None:
        return None
    names = declared | SCORING_FIELDS
    if unverified:
        names = names | UNVERIFIED_FIELDS
    return tuple(sorted(names))


def exact_values(values: tuple[object, ...]) -> Hashable | None:
    """A key equal for two tuples of field values only when every operation treats them
    alike: the values with their types (``1`` is not ``1.0``, ``2`` not ``Integer(2)``);
    None when one is a float ``-0.0`` (equal to ``0.0``, yet its sign shows in a
    division)."""
    if 0 in values and any(
        type(v) is float and v == 0 and math.copysign(1.0, v) < 0 for v in values
    ):
        return None
    return values, tuple(map(type, values))
