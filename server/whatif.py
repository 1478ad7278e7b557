"""What-if over a catalog of workflows: the catalogs before and after, and what changed.

:func:`catalogs` builds each workflow's request under the old and the new catalog (a
shared catalog replaces each request's own; the new one is given whole or as changes of
the old, ``MODEL.FIELD*FACTOR``); :func:`unaffected` says when the new run can be skipped
because it is sure to give the old plan; :func:`same_plan` compares two plans' choices.
The searches run one workflow per engine call (:func:`aalps.server.workers.what_if_message`,
from :meth:`aalps.server.service.AalpsService.what_if`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aalps.cost_models.errors import FieldViolation, InvalidRequestError
from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = [
    "CHANGE_FIELDS",
    "COST_FIELDS",
    "PRICED_ONLY",
    "PRICE_FIELDS",
    "apply_changes",
    "catalogs",
    "same_plan",
    "unaffected",
]

#: Per-token prices: PRICED costs are non-decreasing in each of them.
PRICE_FIELDS = frozenset(
    {
        "price_per_input_token",
        "price_per_output_token",
        "price_per_cached_input_token",
        "price_per_cache_write_token",
    }
)
#: Model fields only PRICED reads (the prices, batch and tier prices).
PRICED_ONLY = PRICE_FIELDS | {
    "batch_prices",
    "tier_threshold_tokens",
    "tier_prices",
    "batch_tier_prices",
}
#: Model fields a plan's cost is non-decreasing in, under some cost model.
COST_FIELDS = PRICE_FIELDS | {"size", "setup_cost"}
#: Number fields of a model a change may scale (besides ``capabilities.<name>``).
CHANGE_FIELDS = COST_FIELDS | {
    "context_window",
    "latency_per_token",
    "per_token_error",
    "vote_correlation",
}


def apply_changes(
    catalog: pb.Catalog, changes: Sequence[pb.CatalogChange], *, strict: bool = True
) -> pb.Catalog:
    """A copy of ``catalog`` with each change's field multiplied by its factor (a change of
    a model the catalog lacks is an error when ``strict``, else it does not apply).

    Raises
    ------
    InvalidRequestError
        naming ``changes[i].model``, ``.field`` or ``.factor`` for an unknown model, a field
        that is not a number field of a model, or a factor that is not positive.
    """
    out = pb.Catalog()
    out.CopyFrom(catalog)
    by_name = {m.name: m for m in out.models}
    problems = []
    for i, change in enumerate(changes):
        model = by_name.get(change.model)
        if model is None:
            if not strict:
                continue
            problems.append(FieldViolation(f"changes[{i}].model", f"no model {change.model!r}"))
            continue
        if not change.factor > 0:
            problems.append(FieldViolation(f"changes[{i}].factor", "must be a positive number"))
            continue
        if change.field.startswith("capabilities."):
            name = change.field.removeprefix("capabilities.")
            if name not in model.capabilities:
                problems.append(
                    FieldViolation(f"changes[{i}].field", f"{change.model} has no {name}")
                )
                continue
            model.capabilities[name] = min(1.0, model.capabilities[name] * change.factor)
        elif change.field == "size":
            try:
                model.size = repr(float(model.size) * change.factor)
            except ValueError:
                problems.append(
                    FieldViolation(f"changes[{i}].field", f"{change.model}'s size is not a number")
                )
        elif change.field in CHANGE_FIELDS:
            setattr(model, change.field, getattr(model, change.field) * change.factor)
        else:
            allowed = ", ".join(sorted(CHANGE_FIELDS | {"capabilities.<name>"}))
            problems.append(FieldViolation(f"changes[{i}].field", f"must be one of {allowed}"))
    if problems:
        raise InvalidRequestError(problems)
    return out


def catalogs(
    request: pb.WhatIfRequest,
) -> tuple[list[pb.OptimizeRequest], list[pb.OptimizeRequest]]:
    """Each workflow's request under the old catalog and under the new one."""
    if not request.HasField("new_catalog") and not request.changes:
        raise InvalidRequestError.single("new_catalog", "give a new catalog or some changes")
    shared = request.HasField("catalog")
    if not shared and not request.HasField("new_catalog"):
        names = {m.name for w in request.requests for m in w.catalog.models}
        missing = [
            FieldViolation(f"changes[{i}].model", f"no workflow's catalog has {c.model!r}")
            for i, c in enumerate(request.changes)
            if c.model not in names
        ]
        if missing:
            raise InvalidRequestError(missing)
    old, new = [], []
    for workflow in request.requests:
        before = pb.OptimizeRequest()
        before.CopyFrom(workflow)
        if request.HasField("catalog"):
            before.catalog.CopyFrom(request.catalog)
        after = pb.OptimizeRequest()
        after.CopyFrom(before)
        if request.HasField("new_catalog"):
            after.catalog.CopyFrom(request.new_catalog)
        else:
            after.catalog.CopyFrom(apply_changes(before.catalog, request.changes, strict=shared))
        old.append(before)
        new.append(after)
    return old, new


def unaffected(
    before: pb.OptimizeRequest, after: pb.OptimizeRequest, result: pb.OptimizeResponse
) -> bool:
    """Whether the new catalog is sure to give the old plan, so the search can be skipped.

    True when the old plan was proven optimal and single-objective, and the catalogs differ
    only in figures the request's cost model does not read (prices outside PRICED, sizes
    under it) or in cost figures it reads (prices, sizes) that went up on models the plan
    does not use: the plan's figures stay put and every other plan's cost can only rise.
    """
    if not result.stats.exhaustive or before.search.objectives or result.pareto_front:
        return False
    priced = before.cost_model == pb.PRICED
    unread = frozenset({"size"}) if priced else PRICED_ONLY
    read = (PRICE_FIELDS if priced else frozenset({"size"})) | {"setup_cost"}
    used = {r.model for t in result.plan.tasks for r in t.roles}
    used |= {s.model for t in result.plan.tasks for r in t.roles for s in r.ensemble}
    old = {m.name: m for m in before.catalog.models}
    new = {m.name: m for m in after.catalog.models}
    if old.keys() != new.keys():
        return False
    for name, model in new.items():
        was = old[name]
        if model == was:
            continue
        for field in pb.Model.DESCRIPTOR.fields:
            a, b = getattr(was, field.name), getattr(model, field.name)
            if a == b or field.name in unread:
                continue
            if field.name not in read or name in used or not _not_lower(a, b):
                return False
    return True


def _not_lower(a: object, b: object) -> bool:
    """Whether number ``b`` is at least ``a`` (sizes are number strings; else False)."""
    try:
        return float(b) >= float(a)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def same_plan(a: pb.Plan, b: pb.Plan) -> bool:
    """Whether two plans make the same choices: operator, models, votes and parameters."""

    def choices(plan: pb.Plan) -> list[tuple[object, ...]]:
        return [
            (
                t.task_id,
                t.operator,
                tuple(
                    (
                        r.role,
                        r.model,
                        max(1, r.votes),
                        tuple((s.model, s.votes) for s in r.ensemble),
                    )
                    for r in t.roles
                ),
                tuple(sorted(t.params.items())),
            )
            for t in plan.tasks
        ]

    return choices(a) == choices(b)
