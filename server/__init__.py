"""The aalps gRPC service: ``aalps.v1.AalpsService`` with health, reflection and auth.

Public surface::

    from aalps.server import ServerConfig, make_server, run_server
    server = make_server(ServerConfig(port=0))   # in a coroutine:
    await server.start(); ...; await server.stop()

Names are imported lazily (as Optuna does), so that the search processes, which import
``aalps.server.workers``, do not load gRPC's server side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aalps.server.app import AalpsServer, make_server, run_server
    from aalps.server.config import ServerConfig
    from aalps.server.store import JobPage, JobRecord, JobState, JobStore
    from aalps.server.stores import open_store

_EXPORTS = {
    "AalpsServer": "aalps.server.app",
    "make_server": "aalps.server.app",
    "run_server": "aalps.server.app",
    "ServerConfig": "aalps.server.config",
    "JobPage": "aalps.server.store",
    "JobRecord": "aalps.server.store",
    "JobState": "aalps.server.store",
    "JobStore": "aalps.server.store",
    "open_store": "aalps.server.stores",
}

__all__ = [
    "AalpsServer",
    "JobPage",
    "JobRecord",
    "JobState",
    "JobStore",
    "ServerConfig",
    "make_server",
    "open_store",
    "run_server",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aalps.server' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
