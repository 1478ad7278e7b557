"""Running a benchmark script against another checkout: the ``--against DIR`` side of the
same-run comparisons (bench_analysis, bench_crossovers, bench_spaces, bench_symbolic)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

__all__ = ["child_json", "child_output"]


def child_output(script: str, tree: str, *args: str) -> str:
    """Standard output of ``python script *args`` in a child process importing aalps from
    ``tree`` (its working directory), with this checkout's benchmarks and tests after it."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{here}")
    return subprocess.run(
        [sys.executable, os.path.abspath(script), *args],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def child_json(script: str, tree: str, *args: str) -> Any:
    """The JSON on the last line :func:`child_output` prints."""
    return json.loads(child_output(script, tree, *args).strip().splitlines()[-1])
