"""When one model can replace another in a role, in every plan (the enumeration's filter).

A role's calls (their number and sizes) do not depend on its model except through the
model's reliability in retried roles, so a model that is no dearer, has a context window at
least as wide, is at least as reliable (when success matters or sets the calls) and no slower
(when latency matters) dominates: :func:`dominance_key` is the figures a Pareto filter
compares, each smaller-is-better.
"""

from __future__ import annotations

from aalps.cost_models.call_costs import price_figures
from aalps.cost_models.domain import Model
from aalps.optimizer.space import window_of

__all__ = ["dominance_key"]


def dominance_key(
    model: Model,
    capability: str,
    *,
    far_size: float | None,
    reliability: bool,
    latency: bool,
    same_reliability: bool = False,
) -> tuple[float, ...]:
    """``model``'s figures in a role needing ``capability``, smaller is better.

    ``far_size``: the model's size at the far point of the scale ray, or None under PRICED
    (then its prices count, cache and tier prices too). ``reliability``: compare
    reliabilities (success matters, or the reliability sets how many calls run).
    ``same_reliability``: only models of the same reliability dominate each other (a
    verifier's reliability trades the calls against the success: see
    :data:`~aalps.optimizer.enumeration.RELIABILITY_TRADES_CALLS`).
    """
    figures: list[float] = (
        list(price_figures(model)) if far_size is None else [model.size_value, far_size]
    )
    figures += [-window_of(model), float(model.setup_cost)]
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
