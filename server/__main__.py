"""``python -m aalps.server``: run an aalps server until SIGTERM or SIGINT.

The flags (and their ``AALPS_*`` variables) are those of ``aalps serve``
(:mod:`aalps.server.command`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aalps.server.command import add_arguments, config_from_args, log_settings, serve
from aalps.server.config import ServerConfig


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m aalps.server", description=__doc__)
    add_arguments(parser)
    return parser.parse_args(argv)


def parse_args(argv: Sequence[str] | None = None) -> ServerConfig:
    """The command line (and the ``AALPS_*`` variables) as a :class:`ServerConfig`."""
    return config_from_args(_parse(argv))


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(argv)
    try:
        config = config_from_args(args)
        level, log_format = log_settings(args)
    except ValueError as error:
        print(f"aalps serve: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    serve(config, level, log_format)


if __name__ == "__main__":
    main()
