#!/usr/bin/env python3
"""Run mypy on aalps under its import names (``aalps.cost_models``, ...).

The parts of the package keep their folders at the top of the repository and install as
``aalps.<part>`` through pyproject's package-dir mapping. mypy follows neither that mapping
nor the import hook of an editable install, so this script lays out a temporary tree of
symbolic links, ``aalps/`` with ``cost_models``, ``optimizer``, ``server``, ``client``,
``proto`` and ``examples`` inside, runs mypy there with the repository's configuration,
and prints its messages with the repository's paths. ``scripts/`` is checked as well.

    python scripts/typecheck.py          # what CI runs; extra arguments go to mypy
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Subpackage of ``aalps`` -> its folder at the top of the repository.
PARTS = ("cost_models", "optimizer", "server", "client", "proto", "examples")


def lay_out(view: Path) -> None:
    """``view/aalps``: the package's own files and a link per part; ``view/scripts``."""
    package = view / "aalps"
    package.mkdir()
    for item in (ROOT / "aalps").iterdir():
        if item.name != "__pycache__":
            (package / item.name).symlink_to(item)
    for part in PARTS:
        (package / part).symlink_to(ROOT / part, target_is_directory=True)
    (view / "scripts").symlink_to(ROOT / "scripts", target_is_directory=True)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="aalps-typecheck-") as tmp:
        view = Path(tmp)
        lay_out(view)
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *argv,
            "aalps",
            "scripts",
        ]
        result = subprocess.run(  # noqa: S603 - fixed argv
            command, cwd=view, capture_output=True, text=True, check=False
        )
    for stream, text in ((sys.stdout, result.stdout), (sys.stderr, result.stderr)):
        for part in PARTS:  # aalps/server/app.py -> server/app.py
            text = text.replace(f"aalps/{part}/", f"{part}/")
        stream.write(text)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
