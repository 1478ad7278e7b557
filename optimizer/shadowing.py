"""Role choices an earlier model provably beats once its window is known to hold the calls.

:func:`~aalps.optimizer.model_dominance.useful_models` drops, before anything is scored, the
models another beats in every figure *including the context window*: a model that is
dearer but has a wider window survives, since somewhere its window may be the only one that
holds the role's calls. On a task where the cheaper model's window does hold them, the
wider window buys nothing, and every plan of the dearer model loses to the same plan with
the cheaper one. The enumeration learns that only by scoring, so it skips a choice there
(:class:`ShadowPool`): it still has to score the cheaper model's plan first.

When one model shadows another
-------------------------------
``m'`` *shadows* ``m`` in a role (:func:`shadowing_models`) when ``m'`` comes first in the
role's model order and

* both have the same reliability in the role: the same probability on its capability (an
  exact rational), the same per-token error and the same vote correlation ``ρ``. The
  reliability is all an operator's schedule reads of a role's model (CASCADE also reads the
  model itself for its stages' rates, CHUNK_AGGREGATE's counts are pruned on their own
  terms: neither uses this), so a plan and the same plan with ``m'`` for ``m`` have the same
  calls (number, sizes, votes), the same success, and the same window peaks;
* ``m'``'s window is no wider than ``m``'s: where ``m'``'s holds the calls, ``m``'s does too,
  so ``m`` is recorded feasible there without its own scoring;
* ``m'`` costs no more per call at the scale point and the far point (size, or every price
  figure under PRICED: :func:`~aalps.cost_models.call_costs.price_figures`), its one-time
  setup (a sum over the roles, one per role) is no larger, and its latency per token is no
  larger when latency matters: the figures :func:`~aalps.optimizer.model_dominance.
  dominance_key` compares without the window. Each call group's cost, the latency and the
  setup share are monotone in those (the premise of the model dominance filter itself).

Why a skipped choice loses nothing
----------------------------------
Let ``X`` be a choice whose role ``i`` holds the plain option ``(m, v)``, and ``Y`` the same
choice with ``(m', v)`` there, ``m'`` shadowing ``m``, at the same parameters. When ``Y`` was
scored earlier *in the same pool* (the list one Pareto filter reads) and fits its windows,
then ``X`` fits too and ``Y`` is no worse than ``X`` in every figure a
:class:`~aalps.optimizer.space.Metrics` key holds, near and far. The filter sorts by key,
ties by input order, and drops an item when an earlier kept one is ``<=`` in every figure:
``Y`` (or the kept item that dropped ``Y``, which is then ``<= X`` too and earlier) drops
``X``. An item that is dropped never drops another that its dropper would not, so leaving
``X`` out of the pool changes neither the kept items nor their order. A skipped ``X`` counts
as fitting for the choices after it (the same argument, through ``Y``). Only the count of
scored plans falls; ``tests/optimizer/test_shadowing.py`` checks the spaces against the
enumeration without it on random requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aalps.cost_models.domain import Model
from aalps.cost_models.operators import RoleSpec
from aalps.optimizer.model_dominance import dominance_key
from aalps.optimizer.space import Option, window_of

__all__ = ["ShadowPool", "Shadows", "shadowing_models"]

#: Per role name, per model name: the earlier models that shadow it (catalog order).
Shadows = Mapping[str, Mapping[str, tuple[str, ...]]]


def _reliability(model: Model, capability: str) -> tuple[object, ...]:
    """What a role's schedule reads of its model: compared exactly (rationals, floats)."""
    return (
        model.capabilities[capability],
        model.per_token_error,
        model.correlation(capability),
    )


def shadowing_models(
    role: RoleSpec,
    models: Sequence[Model],
    *,
    far_sizes: Mapping[str, float] | None,
    latency: bool,
) -> dict[str, tuple[str, ...]]:
    """Per model of ``models`` (a role's, in enumeration order) the earlier ones that shadow
    it (see the module); models nothing shadows are left out."""
    capability = role.capability

    def key(model: Model) -> tuple[float, ...]:
        return dominance_key(
            model,
            capability,
            far_size=None if far_sizes is None else far_sizes[model.name],
            reliability=False,
            latency=latency,
            window=False,
        )

    keys = [key(m) for m in models]
    found: dict[str, tuple[str, ...]] = {}
    for j, model in enumerate(models):
        same = _reliability(model, capability)
        earlier = tuple(
            other.name
            for i, other in enumerate(models[:j])
            if _reliability(other, capability) == same
            and window_of(other) <= window_of(model)
            and all(a <= b for a, b in zip(keys[i], keys[j], strict=True))
        )
        if earlier:
            found[model.name] = earlier
    return found


class ShadowPool:
    """The choices of one pool (one Pareto filter's input) known to fit, and the test
    whether a choice is shadowed by one of them (see the module)."""

    def __init__(self, shadows: Shadows, names: Sequence[str]) -> None:
        self._by_position = [shadows.get(name, {}) for name in names]
        self._fits: set[tuple[Option, ...]] = set()

    def fitted(self, combo: tuple[Option, ...]) -> None:
        """Record that ``combo`` (one option per role, in role order) fits its windows."""
        self._fits.add(combo)

    def shadowed(self, combo: tuple[Option, ...]) -> tuple[int, str] | None:
        """Whether a choice that fits earlier in the pool shadows ``combo`` (which then
        need not be scored): the index of the role where they differ and ``combo``'s model
        there (it fits where it plays), or None."""
        fits = self._fits
        for i, option in enumerate(combo):
            if len(option) != 2:  # an ensemble: never shadowed
                continue
            earlier = self._by_position[i].get(option[0])
            if not earlier:
                continue
            for name in earlier:
                if (*combo[:i], (name, option[1]), *combo[i + 1 :]) in fits:
                    fits.add(combo)
                    return i, option[0]
        return None
