"""The installed distribution's version, read on first use (importlib.metadata costs about
0.1 s of imports, which ``aalps --help`` should not pay)."""

from __future__ import annotations

import importlib.metadata

__all__ = ["__version__"]

try:
    __version__: str = importlib.metadata.version("aalps")
except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
