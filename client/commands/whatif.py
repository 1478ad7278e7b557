"""``aalps whatif DIR --catalog OLD.yaml --new NEW.yaml``: re-plan a catalog of workflows.

Every workflow (request file) under DIR is optimized under the old catalog and the new one
(``--new`` or ``--change 'MODEL.FIELD*FACTOR'``, repeatable) through the WhatIf call (in
process, or on ``--server``); the report lists only the workflows whose plan changed, with
the plans (operator and models per task) and costs before and after, and the totals.
``--format json`` gives ``{"workflows": [{"name", "changed", "before", "after",
"cost_before", "cost_after"}], "total_before", "total_after"}`` for every workflow.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aalps.client.commands import common
from aalps.client.errors import InvalidArgumentError

if TYPE_CHECKING:
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = ["parse_change", "read_catalog", "register", "run_whatif", "whatif_data"]

_CHANGE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_.]*)\s*\*\s*(\S+)\s*$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "whatif",
        parents=[common.server_options(required=False), common.output_options()],
        help="re-plan every workflow under a new catalog and show what changed",
        description="Optimize every request file under DIR with the old catalog and with the "
        "new one; report the workflows whose plan changes, their costs and the totals.",
    )
    parser.add_argument("dir", metavar="DIR", help="a folder of request files (or files)")
    parser.add_argument(
        "--catalog", metavar="OLD.yaml", help="the old catalog (default: each file's own)"
    )
    parser.add_argument("--new", metavar="NEW.yaml", help="the new catalog")
    parser.add_argument(
        "--change",
        action="append",
        default=[],
        metavar="MODEL.FIELD*FACTOR",
        help="scale one model figure, e.g. 'dev.price_per_output_token*2' (repeatable)",
    )
    parser.set_defaults(run=run_whatif)


def parse_change(text: str) -> tuple[str, str, float]:
    """``MODEL.FIELD*FACTOR`` as (model, field, factor); a clear error naming ``--change``."""
    match = _CHANGE.match(text)
    factor = None
    if match:
        try:
            factor = float(match.group(3))
        except ValueError:
            factor = None
    if match is None or factor is None or not factor > 0:
        raise InvalidArgumentError(
            [(f"--change {text!r}", "expected MODEL.FIELD*FACTOR with a positive factor")]
        )
    return match.group(1), match.group(2), factor


def read_catalog(path: str) -> pb.Catalog:
    """A catalog file (:func:`aalps.client.catalog_files.read_catalog_file`) as a message."""
    from aalps.client.catalog_files import catalog_message, read_catalog_file

    return catalog_message(read_catalog_file(path), path)


def _plan(plan: pb.Plan) -> list[dict[str, Any]]:
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

    return [
        {
            "task": t.task_id,
            "operator": pb.Operator.Name(t.operator),
            "roles": {
                r.role: " + ".join(
                    m + (f" x{v}" if v > 1 else "")
                    for m, v in ([(s.model, s.votes) for s in r.ensemble] or [(r.model, r.votes)])
                )
                for r in t.roles
            },
            **({"params": dict(sorted(t.params.items()))} if t.params else {}),
        }
        for t in plan.tasks
    ]


def whatif_data(entries: list[pb.WhatIfResponse]) -> dict[str, Any]:
    """The JSON report: every workflow (``changed`` or not, or its ``error``) and the totals
    over the workflows that succeeded."""
    from aalps.client.errors import error_from_status
    from aalps.client.render import error_text

    workflows: list[dict[str, Any]] = []
    total_before = total_after = 0.0
    for entry in entries:
        if entry.HasField("error"):
            error = error_from_status(entry.error)
            workflows.append({"name": entry.name, "error": error_text(error)})
            continue
        workflows.append(
            {
                "name": entry.name,
                "changed": entry.changed,
                "before": _plan(entry.before),
                "after": _plan(entry.after),
                "cost_before": entry.cost_before,
                "cost_after": entry.cost_after,
            }
        )
        total_before += entry.cost_before
        total_after += entry.cost_after
    return {"workflows": workflows, "total_before": total_before, "total_after": total_after}


def _text(plan: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{t['task']}: {t['operator']}("
        + ", ".join(f"{role}={model}" for role, model in t["roles"].items())
        + ")"
        for t in plan
    )


def _document(data: dict[str, Any]) -> Any:
    from aalps.client.document import Document, Fields, Section, Table
    from aalps.client.render import number

    changed = [w for w in data["workflows"] if w.get("changed")]
    failed = [w for w in data["workflows"] if "error" in w]
    rows = []
    for w in changed:
        before = {t["task"]: t for t in w["before"]}
        for task in w["after"]:
            old = before.get(task["task"])
            if old != task:
                rows.append(
                    (
                        w["name"],
                        task["task"],
                        _text([old]) if old else "",
                        _text([task]),
                        number(w["cost_before"]),
                        number(w["cost_after"]),
                    )
                )
    table = Table(
        ("workflow", "task", "before", "after", "cost before", "cost after"),
        tuple(rows),
        frozenset({4, 5}),
    )
    ratio = data["total_after"] / data["total_before"] if data["total_before"] else float("nan")
    totals = Fields(
        (
            ("workflows", str(len(data["workflows"]))),
            ("changed", str(len(changed))),
            ("failed", str(len(failed))),
            ("total cost before", number(data["total_before"])),
            ("total cost after", number(data["total_after"]) + f" (×{ratio:.4g})"),
        )
    )
    sections = [Section("Changed plans", table if rows else Fields((("none", "no plan changes"),)))]
    sections += (
        [Section("Failed", Fields(tuple((w["name"], w["error"]) for w in failed)))]
        if failed
        else []
    )
    sections.append(Section("Totals", totals))
    return Document("aalps what-if", tuple(sections))


def run_whatif(args: argparse.Namespace) -> int:
    from aalps.client.commands.batch import expand
    from aalps.client.inputs import request_message
    from aalps.client.render import json_text, write
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

    if not args.new and not args.change:
        raise InvalidArgumentError([("--new", "give the new catalog (--new or --change)")])
    files = expand([args.dir])
    request = pb.WhatIfRequest(
        requests=[request_message(f) for f in files],
        names=[Path(f).stem for f in files],
    )
    if args.catalog:
        request.catalog.CopyFrom(read_catalog(args.catalog))
    if args.new:
        request.new_catalog.CopyFrom(read_catalog(args.new))
    for text in args.change:
        model, field, factor = parse_change(text)
        request.changes.append(pb.CatalogChange(model=model, field=field, factor=factor))
    with common.make_client(args) as client:
        entries = list(client.what_if(request, timeout=None))
    data = whatif_data(entries)
    if args.format == "json":
        common.out(json_text(data))
    else:
        common.out(write(_document(data), args.format))
    return 1 if any("error" in w for w in data["workflows"]) else 0
