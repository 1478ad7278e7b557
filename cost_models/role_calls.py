"""The calls of one role of a task plan: its model, or the members of its ensemble.

A role is played by one model casting ``votes`` samples per call, or by an *ensemble*:
several distinct models, each casting its share of the votes (DESIGN §2, VOTE(r)). The
evaluator reads a role's figures through :class:`RoleCalls`, so the two cases share every
rule:

* **cost**: each member's calls are billed at its own size and prices; PRICED's cached
  prompt is shared by the calls of one member (one model), as by a plain role's votes;
* **latency**: the votes of a call run in parallel, all of them (the total of the shares)
  counting against ``parallelism``; a round lasts as long as the slowest member's call;
* **context window**: every member must hold the role's largest call;
* **success**: the majority of all votes, each member's votes beta-binomial with its own
  ``ρ``, the members independent of each other
  (:func:`~aalps.cost_models.correlated_votes.ensemble_majority_success`, through
  :class:`~aalps.cost_models.vote_reliability.RoleReliability`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.domain import Model, OptimizeRequest, RoleAssignment
from aalps.cost_models.operators import CallGroup
from aalps.cost_models.prompt_cache import cached_attempt_cost, cached_group_cost
from aalps.cost_models.shapes import ModelNumbers
from aalps.cost_models.vote_reliability import RoleReliability

__all__ = ["Member", "RoleCalls", "Shares", "declare", "member_models", "role_calls"]


@dataclass(frozen=True)
class Member:
    """One model answering for a role: its catalog entry, prices and votes."""

    model: Model
    pricing: Pricing
    votes: int


@dataclass(frozen=True)
class RoleCalls:
    """The members of one role (one for a plain role) and what their calls cost."""

    members: tuple[Member, ...]

    @cached_property  # a role's calls are kept per assignment (read per candidate)
    def votes(self) -> int:
        """Samples per logical call: the total of the members' votes."""
        return sum(m.votes for m in self.members)

    @cached_property
    def latency_per_token(self) -> float:
        """The slowest member's: the parallel votes of a call wait for it."""
        return max(m.model.latency_per_token for m in self.members)

    @cached_property
    def window_limit(self) -> float:
        """The narrowest member's context window (inf when none has one): a call no larger
        fits every member (:meth:`window_violation` says which one it does not fit)."""
        return min(
            (m.model.context_window for m in self.members if m.model.context_window > 0),
            default=math.inf,
        )

    def cost(
        self, group: CallGroup, request: OptimizeRequest, arithmetic: Arithmetic, prompt: Value
    ) -> Value:
        """Σ over the members of the group's calls at the member's prices and votes."""
        members = self.members
        first = members[0]
        total = cached_group_cost(group, request, first.pricing, first.votes, arithmetic, prompt)
        for m in members[1:]:
            total = total + cached_group_cost(
                group, request, m.pricing, m.votes, arithmetic, prompt
            )
        return total

    def attempt_cost(self, request: OptimizeRequest, i: Value, t: Value, prompt: Value) -> Value:
        """One more call of the role, every member's votes, its prompt in the cache."""
        members = self.members
        total = cached_attempt_cost(request, members[0].pricing, members[0].votes, i, t, prompt)
        for m in members[1:]:
            total = total + cached_attempt_cost(request, m.pricing, m.votes, i, t, prompt)
        return total

    def window_violation(self, role: str, peak: float) -> str | None:
        """Why a call of ``peak`` tokens does not fit a member's window, or None."""
        for m in self.members:
            model = m.model
            if not model.fits(peak):
                return (
                    f"{role} call of {peak:.6g} tokens exceeds {model.name}'s context "
                    f"window of {model.context_window:.6g}"
                )
        return None


#: A role's members' (reliability, per-token keep, votes, ρ): what it declares to a
#: :class:`RoleReliability`.
Shares = tuple[tuple[Value, Value | None, int, float], ...]


def role_calls(
    assignment: RoleAssignment,
    capability: str,
    numbers: Mapping[str, ModelNumbers],
    by_name: Mapping[str, Model],
) -> tuple[RoleCalls, Shares]:
    """The role's :class:`RoleCalls` and its members' shares (see :func:`declare`).

    Both depend only on the assignment, the capability and the models' figures, so an
    evaluator keeps them per assignment.
    """
    members = []
    shares = []
    for name, votes in assignment.members:
        figures = numbers[name]
        model = by_name[name]
        members.append(Member(model, figures.pricing, votes))
        shares.append(
            (
                figures.capabilities[capability],
                figures.keep_per_token,
                votes,
                model.correlation(capability),
            )
        )
    return RoleCalls(tuple(members)), tuple(shares)


def declare(reliability: RoleReliability, role: str, shares: Shares) -> None:
    """Declare ``role``'s members (:func:`role_calls`) to ``reliability``."""
    if len(shares) == 1:
        reliability.add(role, *shares[0])
    else:
        reliability.add_ensemble(role, list(shares))


def member_models(calls: Mapping[str, RoleCalls]) -> list[Model]:
    """Every model answering for a role (each ensemble member: its own one-time setup)."""
    return [m.model for role in calls.values() for m in role.members]
