"""``aalps jobs submit|get|watch|cancel|list``: persisted jobs on an aalps server."""

from __future__ import annotations

import argparse
import itertools
from typing import TYPE_CHECKING, Any

from aalps.client.commands import common

from aalps.job_state import JobState

if TYPE_CHECKING:  # imported when a command runs, not for `aalps --help`
    from aalps.client.client import Client
    from aalps.client.results import JobInfo

__all__ = ["register", "run_cancel", "run_get", "run_list", "run_submit", "run_watch"]


def register(subparsers: Any) -> None:
    jobs = subparsers.add_parser(
        "jobs",
        help="submit, follow and manage jobs on a server (needs --server)",
        description="Persisted optimization jobs on an aalps server.",
    )
    actions = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    parents = [common.server_options(required=True), common.output_options()]

    parser = actions.add_parser(
        "submit", parents=[*parents, common.search_options()], help="start a job"
    )
    parser.add_argument("file", metavar="FILE", help="request file or built-in example name")
    parser.add_argument("--watch", action="store_true", help="then follow it to the end")
    parser.set_defaults(run=run_submit)

    for name, run, text in (
        ("get", run_get, "show a job (and its result once finished)"),
        ("watch", run_watch, "follow a job's progress until it ends, then show it"),
        ("cancel", run_cancel, "ask a job to stop"),
    ):
        parser = actions.add_parser(name, parents=parents, help=text)
        parser.add_argument("job_id", metavar="ID")
        parser.set_defaults(run=run)

    parser = actions.add_parser("list", parents=parents, help="list your jobs, newest first")
    parser.add_argument(
        "--state", choices=[s.value for s in JobState if s.value != "JOB_STATE_UNSPECIFIED"]
    )
    parser.add_argument("--page-size", type=common.positive_int, default=50, metavar="N")
    parser.add_argument("--limit", type=common.positive_int, metavar="N", help="at most N jobs")
    parser.set_defaults(run=run_list)


def _show(job: JobInfo, args: argparse.Namespace) -> int:
    from aalps.client.render import job_document, json_text, write

    if args.format == "json":
        common.out(json_text(job.to_dict()))
    else:
        common.out(write(job_document(job), args.format))
    return 1 if job.state in (JobState.FAILED,) else 0


def _watch(client: Client, job_id: str, args: argparse.Namespace) -> JobInfo:
    from aalps.client.render import number

    last: JobInfo | None = None
    with common.progress_bar(args, f"job {job_id[:12]}") as bar:
        for last in client.watch(job_id):
            note = last.state.value
            if last.best_expected_cost is not None:
                note += f"  best {number(last.best_expected_cost)}"
            bar.update(last.trials_done, last.n_trials, note)
    return last if last is not None else client.get_job(job_id)


def run_submit(args: argparse.Namespace) -> int:
    from aalps.client.inputs import request_message

    request = common.overridden(request_message(args.file), args)
    with common.make_client(args) as client:
        job = client.submit(request)
        if args.watch:
            job = _watch(client, job.job_id, args)
    return _show(job, args)


def run_get(args: argparse.Namespace) -> int:
    with common.make_client(args) as client:
        return _show(client.get_job(args.job_id), args)


def run_watch(args: argparse.Namespace) -> int:
    with common.make_client(args) as client:
        return _show(_watch(client, args.job_id, args), args)


def run_cancel(args: argparse.Namespace) -> int:
    with common.make_client(args) as client:
        job = client.cancel(args.job_id)
    _show(job, args)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from aalps.client.render import jobs_document, json_text, write

    with common.make_client(args) as client:
        jobs = list(itertools.islice(client.list_jobs(args.state, args.page_size), args.limit))
    if args.format == "json":
        common.out(json_text({"jobs": [job.to_dict() for job in jobs]}))
    else:
        common.out(write(jobs_document(jobs), args.format))
    return 0
