"""When one model can replace another in a role, in every plan (the enumeration's filter).

A role's calls (their number and sizes) do not depend on its model except through the
model's reliability in retried roles, so a model that is no dearer, has a context window at
least as wide, is at least as reliable (when success matters or sets the calls) and no slower
(when latency matters) dominates: :func:`dominance_key` is the figures a Pareto filter
compares, each smaller-is-better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aalps.cost_models.call_costs import price_figures
from aalps.cost_models.domain import Model, Operator
from aalps.cost_models.operators import RoleSpec
from aalps.optimizer.pareto import pareto_filter
from aalps.optimizer.space import window_of

__all__ = [
    "RELIABILITY_SETS_CALLS",
    "RELIABILITY_SHAPES_CALLS",
    "RELIABILITY_TRADES_CALLS",
    "dominance_key",
    "useful_models",
]

#: Roles whose model's reliability sets how many calls run, monotonically (more retries).
RELIABILITY_SETS_CALLS = frozenset(
    {(Operator.GLOBAL_RETRY, "worker"), (Operator.LOCAL_RETRY, "worker")}
)
#: Roles whose model's reliability sets the calls non-monotonically (kept unfiltered).
RELIABILITY_SHAPES_CALLS = frozenset({(Operator.AHEAD_BY_K, "worker")})
#: Roles whose reliability trades calls against success: an LLM verifier accepts an attempt
#: with ``a = r·v + (1−r)(1−v)``, which falls as its reliability ``v`` rises while attempts are
#: more often wrong (``r < 1/2``): a less reliable verifier can be cheaper and less likely
#: right. Only models of the same reliability dominate each other there; and the worker's
#: reliability is monotone only while every capable verifier is right at least half the time.
RELIABILITY_TRADES_CALLS = frozenset(
    {(Operator.GLOBAL_RETRY, "verifier"), (Operator.LOCAL_RETRY, "verifier")}
)


def useful_models(
    operator: Operator,
    role: RoleSpec,
    models: tuple[Model, ...],
    *,
    verifiers: Sequence[str],
    catalog: Sequence[Model],
    far_sizes: Mapping[str, float] | None,
    success: bool,
    latency: bool,
) -> tuple[Model, ...]:
    """The models no other of ``models`` dominates in ``role`` of ``operator`` (their order).

    A role's calls (their number and sizes) do not depend on its model, except through
    the model's reliability in the roles of :data:`RELIABILITY_SETS_CALLS`. So a model
    that is no dearer (size, or prices under PRICED: ``far_sizes`` None), has a context
    window at least as wide, is at least as reliable (when ``success`` matters, or when
    reliability sets the calls: fewer retries), and no slower per token (when ``latency``
    matters) can replace the other in every plan. AHEAD_BY_K's worker is kept whole below
    a reliability of 1/2 (its expected samples are not monotone there); a verifier, and a
    worker whose capable ``verifiers`` (capabilities) may be right less than half the time,
    only give way to models of the same reliability (:data:`RELIABILITY_TRADES_CALLS`).
    """

    def dominant(group: tuple[Model, ...], reliability: bool, same: bool = False) -> set[str]:
        def key(model: Model) -> tuple[float, ...]:
            return dominance_key(
                model,
                role.capability,
                far_size=None if far_sizes is None else far_sizes[model.name],
                reliability=success or reliability,
                latency=latency,
                same_reliability=same,
            )

        return {m.name for m in pareto_filter(group, key)}

    which = (operator, role.name)
    if which in RELIABILITY_SHAPES_CALLS:
        # Above 1/2 the expected samples per step fall and the step success rises with
        # the reliability, so dominance holds among those models; the rest stay whole.
        above = tuple(m for m in models if float(m.capabilities[role.capability]) > 0.5)
        kept = dominant(above, True) | {m.name for m in models if m not in above}
    elif which in RELIABILITY_TRADES_CALLS or (
        which in RELIABILITY_SETS_CALLS
        and any(
            float(m.capabilities[c]) < 0.5
            for c in verifiers
            for m in catalog
            if c in m.capabilities
        )
    ):
        kept = dominant(models, True, same=True)
    else:
        kept = dominant(models, which in RELIABILITY_SETS_CALLS)
    return tuple(m for m in models if m.name in kept)


def dominance_key(
    model: Model,
    capability: str,
    *,
    far_size: float | None,
    reliability: bool,
    latency: bool,
    same_reliability: bool = False,
    window: bool = True,
) -> tuple[float, ...]:
    """``model``'s figures in a role needing ``capability``, smaller is better.

    ``far_size``: the model's size at the far point of the scale ray, or None under PRICED
    (then its prices count, cache and tier prices too). ``reliability``: compare
    reliabilities (success matters, or the reliability sets how many calls run).
    ``same_reliability``: only models of the same reliability dominate each other (a
    verifier's reliability trades the calls against the success: see
    :data:`~aalps.optimizer.enumeration.RELIABILITY_TRADES_CALLS`). ``window`` False leaves
    the context window out (:mod:`~aalps.optimizer.shadowing` compares it on its own).
    """
    figures: list[float] = (
        list(price_figures(model)) if far_size is None else [model.size_value, far_size]
    )
    if window:
        figures.append(-window_of(model))
    figures.append(float(model.setup_cost))
    if reliability:
        # A vote's gain depends on ρ both ways (it helps above p = 1/2, hurts below): only
        # models of the same ρ dominate each other.
        rho = model.correlation(capability)
        figures += [
            -float(model.capabilities[capability]),
            float(model.per_token_error),
            rho,
            -rho,
        ]
        if same_reliability:
            figures.append(float(model.capabilities[capability]))
    if latency:
        figures.append(model.latency_per_token)
    return tuple(figures)
