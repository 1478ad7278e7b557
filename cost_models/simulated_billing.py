"""What the simulator charges for one sample of a call: its cost model and the prompt cache.

The cache (a request's ``prompt_cache``, PRICED's cache prices): the first call of a role
writes the task's prompt, the others read it (calls of each role since its last write),
until the cache's lifetime is spent; a call that extends the role's previous one
(ITERATE_WITH_HISTORY's history) reads all of that from a cache living the whole task. Each
member of an ensemble role keeps its own cache (another model, another cache): the caller
names the cache by a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aalps.cost_models.call_costs import Pricing, call_cost
from aalps.cost_models.domain import CostModel, OptimizeRequest

__all__ = ["SampleBilling"]


class SampleBilling:
    """Charges the samples of one task's calls to ``run`` (a ``SimulationRun``)."""

    def __init__(self, request: OptimizeRequest, run: Any, prompt: Callable[[], float]) -> None:
        self.request, self.run = request, run
        enabled = request.prompt_cache.enabled
        priced = request.cost_model is CostModel.PRICED and enabled is not False
        self.passes = enabled is True and request.cost_model in (
            CostModel.FORWARD_PASS,
            CostModel.KV_CACHED,
        )
        self.prompt = prompt() if priced or self.passes else 0.0
        self.cached: dict[str, int] = {}

    def charge(
        self,
        key: str,
        pricing: Pricing,
        tokens_in: float,
        tokens_out: float,
        history: float | None = None,
    ) -> None:
        """One sample's cost, its prompt written to or read from ``key``'s cache.

        ``history``: the input of the previous call of ``key``, which this one extends; under
        FORWARD_PASS and KV_CACHED with a cache living the whole task it is all in the cache,
        and the sample processes only the tokens added since.
        """
        run = self.run
        if self.passes and history is not None and self.request.prompt_cache.lifetime <= 0:
            cost_model = self.request.cost_model
            run.cost += call_cost(cost_model, pricing, tokens_in - history, tokens_out)
        elif self.passes and self.prompt:
            cost_model = self.request.cost_model
            run.cost += call_cost(cost_model, pricing, tokens_in - self.prompt, tokens_out)
            if self._writes(key):
                run.cost += float(pricing.size) * self.prompt
        else:
            run.cost += call_cost(self.request.cost_model, pricing, tokens_in, tokens_out)
        if self.prompt and pricing.cache_read and not self.passes:
            run.cost += self._cache_saving(key, pricing, tokens_in)
        run.calls += 1
        run.input_tokens += tokens_in
        run.output_tokens += tokens_out

    def _cache_saving(self, key: str, pricing: Pricing, tokens_in: float) -> float:
        """What the cache changes in one call's price of the prompt (negative: a saving)."""
        above = bool(pricing.tier_threshold) and tokens_in > pricing.tier_threshold
        if above:
            price_in, read, write = (
                pricing.tier_in,
                pricing.tier_cache_read,
                pricing.tier_cache_write,
            )
        else:
            price_in, read, write = pricing.price_in, pricing.cache_read, pricing.cache_write
        head = write if self._writes(key) else read
        return float(self.prompt * (head - price_in))

    def _writes(self, key: str) -> bool:
        """Whether this call writes the prompt to ``key``'s cache (else reads it)."""
        done = self.cached.get(key, 0)
        self.cached[key] = done + 1
        lifetime = self.request.prompt_cache.lifetime
        return done == 0 if lifetime <= 0 else done % lifetime == 0
