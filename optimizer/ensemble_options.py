"""The ensembles the search offers a votable role: pairs and triples of models sharing votes.

A role's votes may be cast by different models (an *ensemble*,
:class:`~aalps.cost_models.domain.VoteShare`): each model's own votes correlate by its
``vote_correlation``, but different models' errors are independent, so when every model
repeats its own mistakes (``ρ > 0``) a majority across models can be surer per unit of
cost than any model's self-votes.

The space is kept small on purpose (it multiplies a role's choices):

* ensembles are offered only where votes are (a votable role, when success matters) and
  only when one of the role's models has ``ρ > 0`` on the role's capability: with
  independent samples a model's self-votes already buy that independence, and requests
  without correlations keep exactly the space they had;
* the members are drawn from the role's non-dominated models (those the enumeration keeps),
  at most :data:`ENSEMBLE_POOL` of them, the most reliable first;
* pairs and triples of distinct members, every split of an odd total of votes of at most
  :data:`MAX_ENSEMBLE_VOTES` (each member at least one vote): 6 splits per pair, 7 per
  triple, so at most 10·6 + 10·7 = 130 ensembles per role.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from aalps.cost_models.domain import Model, VoteShare
from aalps.cost_models.operators import RoleSpec

__all__ = ["ENSEMBLE_POOL", "MAX_ENSEMBLE_VOTES", "EnsembleOption", "ensemble_options", "splits"]

#: The most models an ensemble role draws its members from.
ENSEMBLE_POOL = 5
#: The largest total of an ensemble's votes the search tries.
MAX_ENSEMBLE_VOTES = 5

#: (first member, total votes, shares): the fields of an ensemble's RoleAssignment.
EnsembleOption = tuple[str, int, tuple[VoteShare, ...]]


def splits(members: int, most: int) -> list[tuple[int, ...]]:
    """Every way to give ``members`` models one vote or more, with an odd total ≤ ``most``."""
    return [
        split
        for split in itertools.product(range(1, most + 1), repeat=members)
        if sum(split) % 2 == 1 and sum(split) <= most
    ]


def ensemble_options(role: RoleSpec, models: Sequence[Model]) -> list[EnsembleOption]:
    """The ensembles offered to a votable ``role`` played by ``models`` (see the module)."""
    capability = role.capability
    if not any(m.correlation(capability) > 0.0 for m in models):
        return []
    ranked = sorted(models, key=lambda m: -float(m.capabilities[capability]))
    pool = ranked[:ENSEMBLE_POOL]
    options: list[EnsembleOption] = []
    for size in (2, 3):
        for group in itertools.combinations(pool, size):
            for split in splits(size, MAX_ENSEMBLE_VOTES):
                shares = tuple(VoteShare(m.name, v) for m, v in zip(group, split, strict=True))
                options.append((group[0].name, sum(split), shares))
    return options
