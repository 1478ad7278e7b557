"""``aalps batch FILES|DIR``: optimize many request files, one result file per input."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aalps.client.commands import common
from aalps.client.errors import AalpsClientError, InvalidArgumentError

if TYPE_CHECKING:  # imported when a command runs, not for `aalps --help`
    from aalps.client.inputs import RequestLike
    from aalps.client.results import BatchItem

__all__ = ["RESULT_SUFFIX", "destinations", "expand", "register", "run_batch"]

_SUFFIXES = (".yaml", ".yml", ".json")
RESULT_SUFFIX = ".result.json"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch",
        parents=[
            common.server_options(required=False),
            common.search_options(),
            common.catalog_option(),
        ],
        help="optimize many request files (or every file of a folder)",
        description="Optimize every request, write one <name>.result.json per input (the "
        'response, or {"error": ...} naming the bad fields), print one line per input. '
        "Exits 1 if any failed.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILES|DIR",
        help="request files, folders of them, or built-in example names",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="write results here (default: beside each input)"
    )
    parser.add_argument(
        "--jobs",
        action="store_true",
        help="with --server: submit every request as a job, so that every replica sharing "
        "the server's store takes a share (default: one BatchOptimize call)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(run=run_batch)


def expand(inputs: Sequence[str]) -> list[str]:
    """Files as given; folders become their request files (not earlier results), sorted."""
    found: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(
                str(p)
                for p in path.iterdir()
                if p.is_file() and p.suffix in _SUFFIXES and not p.name.endswith(RESULT_SUFFIX)
            )
        else:
            found.append(item)
    if not found:
        raise InvalidArgumentError([(", ".join(inputs), "holds no .yaml, .yml or .json file")])
    return found


def destinations(inputs: Sequence[str], out: str | None) -> list[Path]:
    """``<stem>.result.json`` in ``out`` or beside each input (built-in examples: here);
    inputs that would share a name keep their suffix (``a.yaml.result.json``)."""

    def place(item: str, name: str) -> Path:
        path = Path(item)
        folder = Path(out) if out else (path.parent if path.exists() else Path.cwd())
        return folder / (name + RESULT_SUFFIX)

    first = [place(item, Path(item).stem) for item in inputs]
    uses = Counter(first)
    return [
        place(item, Path(item).name) if uses[dest] > 1 else dest
        for item, dest in zip(inputs, first, strict=True)
    ]


def _load(
    item: str, args: argparse.Namespace, catalog: dict[str, Any] | None = None
) -> RequestLike:
    """The request with overrides (and ``catalog`` in place of its own, when given); an
    unreadable one stays a path, so that the batch reports it as that input's error."""
    try:
        return common.load_request(item, args, catalog)
    except AalpsClientError:
        return item


def _summary(item: BatchItem, source: str, dest: Path) -> str:
    from aalps.client.render import error_text

    if item.report is not None:
        plan = item.report
        separation = ", ".join(
            (f"{s.role}: " if s.role else "") + f"Θ({s.text})" for s in plan.separation
        )
        return f"ok      {source}  Θ({plan.plan.bound_text})  separation {separation}  -> {dest}"
    assert item.error is not None
    error = item.error
    return f"failed  {source}  {error.status_code.name}: {error_text(error)}  -> {dest}"


def run_batch(args: argparse.Namespace) -> int:
    from aalps.client.render import json_text

    inputs = expand(args.inputs)
    dests = destinations(inputs, args.out)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.server:
        from aalps.client.in_process import prepare_batch

        prepare_batch(len(inputs))  # the pool's processes get ready while the files are read
    catalog = common.shared_catalog(args)  # sent once, shared by every request
    requests = [_load(item, args) for item in inputs]
    if args.jobs and not args.server:
        raise InvalidArgumentError([("--jobs", "needs --server (jobs live in a server's store)")])
    failed = 0
    with (
        common.make_client(args) as client,
        common.progress_bar(args, "batch", unit="requests") as bar,
    ):
        bar.update(0, len(inputs))
        if args.jobs:
            items = client.batch_jobs(requests, catalog=catalog)
        else:
            items = client.batch(requests, catalog=catalog, timeout=None)
        for done, item in enumerate(items, start=1):
            data = item.to_dict()
            data.pop("index", None)
            body = data.get("result", data)
            dests[item.index].write_text(json_text(body), encoding="utf-8")
            failed += item.error is not None
            bar.update(done, len(inputs))
            bar.println(_summary(item, inputs[item.index], dests[item.index]))
    common.out(f"{len(inputs) - failed} succeeded, {failed} failed\n")
    return 1 if failed else 0
