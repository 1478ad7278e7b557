"""A task plan's roles, resolved once: what every scoring of the plan's roles reads.

:func:`~aalps.cost_models.task_scoring.numeric_outcome` scores hundreds of thousands of task
plans per large request, and most of them assign a role a model another plan assigned it
already. What a role's assignment gives in one arithmetic is worked out once and kept:

* per (assignment, capability), a :class:`RoleEntry`: the role's
  :class:`~aalps.cost_models.role_calls.RoleCalls`, the shares it declares to a
  :class:`~aalps.cost_models.vote_reliability.RoleReliability` with their ``ρ`` already
  converted, whether a member has a setup cost (:func:`role_entry`);
* per the entries of a task plan's roles (in the plan's order), the plan's roles
  :data:`Resolved`: the reliability they declare (built once, then only read), each role's
  calls and the figures a call group reads of them (:func:`resolved_roles`).

An evaluator keeps both (shared with the evaluators whose models have the same sizes,
:mod:`aalps.cost_models.ray_siblings`); the figures are the ones the roles declared one by
one would give, by the same operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aalps.cost_models.arithmetic import BIG, BIG_SUCCESS, Arithmetic, Value
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.domain import Model, RoleAssignment, TaskPlan, VoteShare
from aalps.cost_models.role_calls import Member, RoleCalls, role_calls
from aalps.cost_models.shapes import ModelNumbers
from aalps.cost_models.vote_reliability import (
    Prepared,
    RememberedReliability,
    RoleReliability,
    prepare,
)

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = [
    "Resolved",
    "RoleEntry",
    "RoleFigures",
    "RoleKey",
    "resolve",
    "resolved_roles",
    "role_entry",
]


@dataclass(frozen=True, slots=True, eq=False)
class RoleEntry:
    """One role's figures in one arithmetic: built once per (assignment, capability).

    Compared and hashed by identity: a task plan's entries key its :data:`Resolved` roles."""

    role: str  # the assignment's role (part of the entry's key)
    calls: RoleCalls
    prepared: Prepared  # what the role declares to a RoleReliability
    model: Model  # the (first) member's model
    setup: bool  # whether a member has a one-time setup cost
    memo: dict[tuple[Any, ...], Value]  # its reliabilities in mpmath (RememberedReliability)


def _entry(
    assignment: RoleAssignment,
    capability: str,
    numbers: dict[str, ModelNumbers],
    evaluator: PlanEvaluator,
    arithmetic: Arithmetic,
) -> RoleEntry:
    by_name = evaluator.catalog.by_name
    for name, _ in assignment.members:  # converted on first use (once each)
        if name not in numbers:
            numbers[name] = ModelNumbers.of(by_name[name], arithmetic, evaluator._model_sizes[name])
    calls, shares = role_calls(assignment, capability, numbers, by_name)
    return RoleEntry(
        assignment.role,
        calls,
        prepare(arithmetic, shares),
        calls.members[0].model,
        any(m.model.setup_cost for m in calls.members),
        {},
    )


#: What :func:`numeric_outcome` reads of a role's calls for each of its call groups: the
#: calls, the first member's pricing and votes, the other members, the votes of all, the
#: latency per token and the window limit (:class:`RoleCalls`'s figures, read once).
RoleFigures = tuple[RoleCalls, Pricing, int, tuple[Member, ...], int, float, float]

#: A task plan's roles with a capability, resolved from their entries: each role's calls,
#: each role's (first) model (for the stages' rates), whether a member has a setup cost,
#: the reliability the roles declare, and each role's :data:`RoleFigures`. Equal entries
#: (in order), equal figures: an evaluator keeps them by the entries
#: (:func:`resolved_roles`), and nothing changes them.
Resolved = tuple[
    dict[str, RoleCalls], dict[str, Model], bool, RoleReliability, dict[str, RoleFigures]
]


def resolve(entries: list[RoleEntry], arithmetic: Arithmetic) -> Resolved:
    """The :data:`Resolved` figures of a task plan's role entries, in the plan's order (a
    role declared twice: the later one, as it would be declared one by one)."""
    calls: dict[str, RoleCalls] = {}
    models: dict[str, Model] = {}
    figures: dict[str, RoleFigures] = {}
    # BIG's numbers are slow to work out: there each role keeps its answers.
    big = arithmetic is BIG or arithmetic is BIG_SUCCESS
    remembered = RememberedReliability(arithmetic) if big else None
    reliability = RoleReliability(arithmetic) if remembered is None else remembered
    setup = False
    for entry in entries:
        role = entry.role
        own = calls[role] = entry.calls
        if remembered is not None:
            remembered.remember(role, entry.prepared, entry.memo)
        else:
            reliability.put(role, entry.prepared)
        if entry.setup:
            setup = True
        models[role] = entry.model
        first = own.members[0]
        figures[role] = (
            own,
            first.pricing,
            first.votes,
            own.members[1:],
            own.votes,
            own.latency_per_token,
            own.window_limit,
        )
    return calls, models, setup, reliability, figures


#: What an evaluator keeps a :class:`RoleEntry` by: the assignment's role, model, votes
#: and ensemble, and the capability.
RoleKey = tuple[str, str, int, tuple[VoteShare, ...], str]


def role_entry(
    evaluator: PlanEvaluator, assignment: RoleAssignment, capability: str, arithmetic: Arithmetic
) -> RoleEntry:
    """The role's :class:`RoleEntry` in ``arithmetic``, kept in the evaluator by
    :data:`RoleKey`: the assignment's fields, not the assignment (a tuple of strings and
    ints hashes and compares in C, the dataclass's ``__hash__``/``__eq__`` in Python; equal
    fields, equal assignments, the same entry)."""
    known = evaluator._role_calls.setdefault(arithmetic.name, {})
    key = (assignment.role, assignment.model, assignment.votes, assignment.ensemble, capability)
    entry = known.get(key)
    if entry is None:
        numbers = evaluator._numbers.setdefault(arithmetic.name, {})
        entry = known[key] = _entry(assignment, capability, numbers, evaluator, arithmetic)
    return entry


def resolved_roles(
    evaluator: PlanEvaluator,
    task_plan: TaskPlan,
    capability: dict[str, str],
    arithmetic: Arithmetic,
) -> Resolved:
    """The task plan's :data:`Resolved` roles in ``arithmetic``, kept in the evaluator by
    its roles' entries (:func:`role_entry`)."""
    entries = []
    for assignment in task_plan.roles:
        cap = capability.get(assignment.role)
        if cap is not None:
            entries.append(role_entry(evaluator, assignment, cap, arithmetic))
    known = evaluator._resolved.setdefault(arithmetic.name, {})
    # As :func:`~.task_scoring.numeric_outcome` keys them: one entry, a tuple of several,
    # None for none.
    key = None if not entries else entries[0] if len(entries) == 1 else tuple(entries)
    roles = known.get(key)
    if roles is None:
        roles = known[key] = resolve(entries, arithmetic)
    return roles
