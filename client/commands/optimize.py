"""``aalps optimize FILE`` and ``aalps analyze FILE --plan PLANFILE``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from aalps.client.commands import common

if TYPE_CHECKING:  # imported when a command runs, not for `aalps --help`
    from aalps.client.results import Progress

__all__ = ["register", "run_analyze", "run_optimize"]


def register(subparsers: Any) -> None:
    parents = [
        common.server_options(required=False),
        common.output_options(),
        common.catalog_option(),
    ]
    parser = subparsers.add_parser(
        "optimize",
        parents=[*parents, common.search_options()],
        help="find the cheapest plan for a request file",
        description="Find the cheapest plan for a request (YAML/JSON file, or the name of a "
        "built-in example) and show it against the naive baseline with both Θ bounds.",
    )
    parser.add_argument("file", metavar="FILE", help="request file or built-in example name")
    parser.set_defaults(run=run_optimize)

    parser = subparsers.add_parser(
        "analyze",
        parents=parents,
        help="cost a given plan (no search)",
        description="Cost a plan you supply (cost, success, latency, Θ bound) and compare it "
        "with the baseline, without searching.",
    )
    parser.add_argument("file", metavar="FILE", help="request file or built-in example name")
    parser.add_argument(
        "--plan",
        required=True,
        metavar="PLANFILE",
        help="YAML/JSON plan: tasks[]: {task_id, operator, roles[], params} "
        "(or a saved `optimize --format json` result)",
    )
    parser.add_argument(
        "--baseline", metavar="PLANFILE", help="compare against this plan (default: baseline)"
    )
    parser.set_defaults(run=run_analyze)


def _title(name: str, what: str) -> str:
    return f"{name}: {what}" if name else f"aalps: {what}"


def run_optimize(args: argparse.Namespace) -> int:
    from aalps.client.render import json_text, number, optimize_document, write

    request = common.load_request(args.file, args, common.shared_catalog(args))
    with common.make_client(args) as client, common.progress_bar(args, "optimize") as bar:

        def progress(update: Progress) -> None:
            best = update.best_expected_cost
            note = f"best {number(best)}" if best is not None else ""
            bar.update(update.trials_done, update.n_trials, note)

        report = client.optimize(request, timeout=None, progress=progress)
    if args.format == "json":
        common.out(json_text(report.to_dict()))
    else:
        title = _title(request.graph.name, "optimized plan")
        common.out(write(optimize_document(report, title), args.format))
        if args.format == "markdown":
            from aalps.client.mermaid import topology_markdown

            edges = [(e.source, e.target) for e in request.graph.edges]
            common.out(topology_markdown(report.plan, edges))
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    from aalps.client.catalog_files import request_with_catalog
    from aalps.client.render import analysis_document, json_text, write

    request = request_with_catalog(args.file, common.shared_catalog(args))
    with common.make_client(args) as client:
        report = client.analyze(request, args.plan, args.baseline, timeout=None)
    if args.format == "json":
        common.out(json_text(report.to_dict()))
    else:
        title = _title(request.graph.name, "plan analysis")
        common.out(write(analysis_document(report, title), args.format))
    return 0
