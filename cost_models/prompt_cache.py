"""Prompt caching: a prefix shared by many calls is processed once, then read from a cache.

The shared prefix is a task's ``prompt_tokens``, which every operator puts at the head of
every call's input, and which the calls of one call group share (one role of one task: one
model, one instruction; votes included). A request's ``prompt_cache`` says whether the
cache is used and how many calls one write serves (``lifetime_calls``; 0: the whole group).
A group of ``N`` calls (votes counted) then writes the prefix ``w = ⌈N/L⌉`` times (``w = 1``
with no lifetime) and reads it in every call:

* ``KV_CACHED`` and ``FORWARD_PASS``: the prefix is processed once per write, ``m·P`` (one
  pass over ``P`` tokens), and a call is charged as if its input were ``i − P`` (its tokens
  attend to the cached keys and values at no further charge). Off by default, so the paper's
  Θ(k), Θ(b·k²) and Θ(2^k·k) examples stay as they are.
* ``PRICED``: written at the cache-write price ``w`` times, read at the cache-read price in
  every call (:func:`~aalps.cost_models.call_costs.group_cost`). On by default where a model
  lists a cache-read price (the provider caches whether asked or not), ``enabled: false``
  turns it off.
* ``QUADRATIC_ATTENTION``: unchanged. A cached prefix still holds ``P`` keys that every new
  token attends to, and that is the term this cost model counts.

With retries the number of calls is random; ``w`` is then taken at its expected count.
Latency is unchanged (a conservative figure: a cached prefix shortens the time to the
first token in practice). ITERATE_WITH_HISTORY's growing history is not treated as a
cached prefix: only the task's prompt is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.call_costs import Pricing, attempt_cost, call_cost, group_cost
from aalps.cost_models.domain import CostModel, OptimizeRequest
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import check_keys, read_mapping, read_number

__all__ = [
    "CACHED_PASSES",
    "cache_writes",
    "cached_attempt_cost",
    "cached_group_cost",
    "read_prompt_cache",
]

#: The cost models whose cache is off unless the request turns it on.
CACHED_PASSES = (CostModel.FORWARD_PASS, CostModel.KV_CACHED)


def read_prompt_cache(value: Any, errors: Violations) -> tuple[bool | None, int]:
    """A request's ``prompt_cache {enabled, lifetime_calls}``: (enabled or None, lifetime)."""
    field = "prompt_cache"
    raw = read_mapping(value, field, errors)
    check_keys(raw, {"enabled", "lifetime_calls"}, field, errors)
    enabled = raw.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        errors.add(f"{field}.enabled", "must be true or false")
        enabled = None
    where = f"{field}.lifetime_calls"
    lifetime = read_number(raw.get("lifetime_calls"), where, errors, low=0.0, high=2**31 - 1)
    if lifetime is not None and lifetime != int(lifetime):
        errors.add(f"{field}.lifetime_calls", "must be a whole number of calls")
        lifetime = None
    return enabled, int(lifetime or 0)


def cache_writes(samples: Value, lifetime: int, arithmetic: Arithmetic) -> Value:
    """How often ``samples`` calls write the prefix: once, or once per ``lifetime`` calls."""
    if lifetime <= 0:
        return 1
    return arithmetic.ceil(samples / lifetime)


def _active(request: OptimizeRequest) -> bool:
    """Whether FORWARD_PASS/KV_CACHED charge the prompt once per write."""
    return request.cost_model in CACHED_PASSES and request.prompt_cache.enabled is True


def cached_group_cost(
    group: Any,
    request: OptimizeRequest,
    pricing: Pricing,
    votes: int,
    arithmetic: Arithmetic,
    prompt: Value,
) -> Value:
    """A call group's cost under the request's cost model and prompt cache."""
    cost_model, cache = request.cost_model, request.prompt_cache
    if cost_model is CostModel.PRICED:
        if cache.enabled is False:
            prompt = 0  # nothing is read from the cache
        writes = cache_writes(group.calls * votes, cache.lifetime, arithmetic)
        return group_cost(group, cost_model, pricing, votes, arithmetic, prompt, writes)
    if not _active(request) or prompt == 0 or group.calls == 0:
        return group_cost(group, cost_model, pricing, votes, arithmetic, prompt)
    rest = replace(group, input=group.input - prompt)
    writes = cache_writes(group.calls * votes, cache.lifetime, arithmetic)
    return group_cost(rest, cost_model, pricing, votes, arithmetic) + writes * pricing.size * prompt


def cached_attempt_cost(
    request: OptimizeRequest, pricing: Pricing, votes: int, i: Value, t: Value, prompt: Value
) -> Value:
    """One more attempt of a retry once the prefix is cached (the cost variance's unit)."""
    if _active(request) and prompt != 0:
        return votes * call_cost(request.cost_model, pricing, i - prompt, t)
    if request.cost_model is CostModel.PRICED and request.prompt_cache.enabled is False:
        prompt = 0
    return attempt_cost(request.cost_model, pricing, votes, i, t, prompt)
