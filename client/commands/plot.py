"""``aalps plot REQUEST|RESULT.json --out FILE.(svg|png|pdf)``: cost against scale, log-log.

A request file is optimized first (in process, or on ``--server``); a saved result
(``aalps optimize --format json`` or a batch's ``<name>.result.json``) is drawn as it is,
with its request read from ``--request`` or from the file beside it (``<name>.yaml``,
``.yml`` or ``.json``): the plans are evaluated along that request's scale ray
(:mod:`aalps.client.plots`). Needs the ``aalps[plot]`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aalps.client.commands import common
from aalps.client.errors import InvalidArgumentError

if TYPE_CHECKING:
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = ["FORMATS", "register", "run_plot"]

FORMATS = (".svg", ".png", ".pdf")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plot",
        parents=[common.server_options(required=False), common.search_options()],
        help="draw cost against scale (log-log) for the plan, baseline and asymptotic plan",
        description="Draw each plan's expected cost along the scale ray on log-log axes, "
        "crossovers marked, the separation written; a Pareto front as a second panel.",
    )
    parser.add_argument("file", metavar="REQUEST|RESULT.json", help="request or saved result")
    parser.add_argument("--out", required=True, metavar="FILE", help="a .svg, .png or .pdf")
    parser.add_argument("--request", metavar="REQUEST", help="the request of a saved result")
    parser.set_defaults(run=run_plot)


def _sibling_request(result: str) -> str:
    path = Path(result)
    stem = path.name.removesuffix(".result.json").removesuffix(".json")
    for suffix in (".yaml", ".yml", ".json"):
        candidate = path.with_name(stem + suffix)
        if candidate.exists() and candidate != path:
            return str(candidate)
    raise InvalidArgumentError(
        [(result, "is a result: give its request with --request (none found beside it)")]
    )


def _inputs(args: argparse.Namespace) -> tuple[pb.OptimizeRequest, pb.OptimizeResponse]:
    """The request message and the result to draw (optimizing the request if need be)."""
    from aalps.client.inputs import read_data, request_message
    from aalps.proto.aalps.v1 import aalps_pb2 as pb
    from google.protobuf import json_format

    name, data = read_data(args.file)
    if isinstance(data, dict) and "plan" in data and "graph" not in data:
        result = pb.OptimizeResponse()
        try:
            json_format.ParseDict(data, result, ignore_unknown_fields=True)
        except json_format.ParseError as error:
            raise InvalidArgumentError([(name, f"is not a result: {error}")]) from None
        return request_message(args.request or _sibling_request(args.file)), result
    request = common.overridden(request_message(args.file), args)
    with common.make_client(args) as client:
        report = client.optimize(request, timeout=None)
    return request, report.message


def run_plot(args: argparse.Namespace) -> int:
    from aalps.client.plots import figure, matplotlib_or_error
    from aalps.cost_models.errors import InvalidRequestError
    from aalps.proto.convert import plan_from_proto, request_from_proto

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise InvalidArgumentError([("--out", "must end in .svg, .png or .pdf")])
    plt = matplotlib_or_error()
    message, result = _inputs(args)
    try:
        request = request_from_proto(message)
        plans = [
            ("plan", plan_from_proto(result.plan)),
            ("baseline", plan_from_proto(result.baseline, "baseline")),
        ]
        if result.HasField("asymptotic_plan"):
            plans.append(("asymptotic", plan_from_proto(result.asymptotic_plan)))
    except InvalidRequestError as error:
        raise InvalidArgumentError([(v.field, v.description) for v in error.violations]) from None
    whole = "; ".join((f"{s.role}: " if s.role else "") + f"Θ({s.text})" for s in result.separation)
    try:
        fig, _ = figure(
            request,
            plans,
            crossovers=[
                (c.scale, c.at, f"crossover: {c.parameter} ≈ {c.at:,.4g}")
                for c in result.crossovers
            ],
            separation=whole,
            pareto=[(p.expected_cost, p.success_probability) for p in result.pareto_front],
        )
    except ValueError as error:
        raise InvalidArgumentError([(args.file, str(error))]) from None
    plt.rcParams["svg.hashsalt"] = "aalps"
    fig.savefig(out, metadata={"Date": None} if out.suffix.lower() == ".svg" else None)
    plt.close(fig)
    common.out(f"wrote {out}\n")
    return 0
