"""The ``aalps`` command: the parser, the dispatch, and the one place errors become exit codes.

Exit status: 0 success; 2 bad input (a missing or malformed file, an invalid request: one
``error: <field>: <description>`` line per violation on stderr); 1 any other failure (no
feasible plan, server unreachable, a failed job or batch entry); 130 interrupted. User
mistakes never print a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aalps.client.commands import (
    batch,
    catalog,
    examples,
    jobs,
    optimize,
    plot,
    schema,
    serve,
    whatif,
)
from aalps.client.commands.common import TOKEN_ENV
from aalps.client.errors import (
    AalpsClientError,
    DeadlineExceededError,
    InfeasibleRequestError,
    InvalidArgumentError,
    UnauthenticatedError,
    UnavailableError,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "build_parser",
    "main",
    "report_error",
]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _ShowVersion(argparse.Action):
    """``--version``: the installed version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help="show the version"
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from aalps import __version__

        print(f"aalps {__version__}")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree: serve, optimize, analyze, batch, jobs, examples, catalog, schema,
    whatif, plot."""
    parser = argparse.ArgumentParser(
        prog="aalps",
        description="Plan LLM-agent systems by asymptotic analysis: find the cheapest "
        "decomposition and model assignment, with its Θ bound and the separation from the "
        "naive baseline.",
        epilog="Try: aalps examples; aalps optimize k_task_routing",
    )
    parser.add_argument("--version", action=_ShowVersion)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (serve, optimize, batch, jobs, examples, catalog, schema, whatif, plot):
        module.register(commands)
    return parser


def report_error(error: AalpsClientError, args: argparse.Namespace | None = None) -> int:
    """Print ``error: ...`` lines on stderr; return the exit status for ``error``."""
    if isinstance(error, UnavailableError):
        where = getattr(args, "server", None) or "the server"
        print(f"error: cannot reach the aalps server at {where}: {error.message}", file=sys.stderr)
        return EXIT_FAILURE
    violations = [str(v) for v in error.violations]
    if isinstance(error, InvalidArgumentError):
        lines = violations or [error.message]
    elif isinstance(error, InfeasibleRequestError):
        lines = ["no feasible plan", *violations]
    elif isinstance(error, UnauthenticatedError):
        lines = [f"{error.message} (give --token or set ${TOKEN_ENV})"]
    elif isinstance(error, DeadlineExceededError) and error.partial is not None:
        plan = error.partial.plan
        tasks = ", ".join(
            f"{t.task_id}: {t.operator}({', '.join(r.models_text for r in t.roles)})"
            for t in plan.tasks
        )
        lines = [
            error.message,
            f"best plan found before the limit (not proven optimal): {tasks}; "
            f"expected cost {plan.expected_cost:.4g}, Θ({plan.bound_text})",
        ]
    else:
        lines = [error.message, *violations]
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT if isinstance(error, InvalidArgumentError) else EXIT_FAILURE


def _quiet_optuna() -> None:
    """Optuna sets its logger to INFO when imported, and logs each study it creates."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aalps`` with ``argv`` (default: the process's arguments); return the status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("optimize", "analyze", "batch", "whatif", "plot") and not args.server:
        _quiet_optuna()  # in process: no per-study log lines on stderr
    try:
        status: int = args.run(args)
    except AalpsClientError as error:
        return report_error(error, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `aalps ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return EXIT_FAILURE
    return status
