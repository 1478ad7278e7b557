"""Building, naming and editing a role's assignment when it may be an ensemble.

A :class:`~aalps.cost_models.domain.RoleAssignment` with ``ensemble`` shares its votes
among several models (:class:`~aalps.cost_models.domain.VoteShare`); ``model`` is then the
first share's and ``votes`` the total. These helpers keep that rule in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from aalps.cost_models.domain import RoleAssignment, VoteShare

__all__ = ["ensemble_role", "role_text", "with_member"]


def ensemble_role(role: str, shares: Sequence[tuple[str, int]]) -> RoleAssignment:
    """A role whose votes ``shares`` (model, votes) cast; a single share is a plain role."""
    if len(shares) == 1:
        return RoleAssignment(role, shares[0][0], shares[0][1])
    ensemble = tuple(VoteShare(m, v) for m, v in shares)
    return RoleAssignment(role, shares[0][0], sum(v for _, v in shares), ensemble)


def role_text(assignment: RoleAssignment) -> str:
    """``model``, ``model×3``, or an ensemble's ``a×2+b``."""
    return "+".join(m + (f"×{v}" if v > 1 else "") for m, v in assignment.members)


def with_member(assignment: RoleAssignment, old: str, new: str) -> RoleAssignment:
    """``assignment`` with ``new`` in the place of member ``old`` (a plain role: its model)."""
    if not assignment.ensemble:
        return RoleAssignment(assignment.role, new, assignment.votes)
    shares = [(new if m == old else m, v) for m, v in assignment.members]
    return ensemble_role(assignment.role, shares)
