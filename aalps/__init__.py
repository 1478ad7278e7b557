"""aalps: plan LLM-agent systems by asymptotic analysis with LLM primitives.

The public surface. A typical use::

    from aalps import Client

    with Client.in_process() as aalps:  # or Client.remote("host:50051", token=...)
        report = aalps.optimize("code_debugging")
        print(report.plan.bound_text)

The domain records (:class:`OptimizeRequest`, :class:`Plan`, ...), :func:`load_request`,
:func:`optimize` and :func:`analyze_plan` are the in-process library beneath the client.
The parts install as subpackages: ``aalps.cost_models`` (domain, costs, bounds),
``aalps.optimizer`` (search), ``aalps.server`` (the gRPC service), ``aalps.client`` (the
client and the ``aalps`` command) and ``aalps.proto`` (the wire types).

Names are imported on first use, so that ``import aalps`` (and ``aalps --version``) stays
cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aalps._lazy import lazy_exports

if TYPE_CHECKING:
    from aalps._version import __version__
    from aalps.client.aio import AsyncClient
    from aalps.client.client import Client
    from aalps.client.errors import (
        AalpsClientError,
        CancelledError,
        DeadlineExceededError,
        FailedPreconditionError,
        InfeasibleRequestError,
        InvalidArgumentError,
        NotFoundError,
        ResourceExhaustedError,
        UnauthenticatedError,
        UnavailableError,
        Violation,
    )
    from aalps.cost_models.domain import (
        CostModel,
        Operator,
        OptimizeRequest,
        Plan,
        RankBy,
        RoleAssignment,
        SearchObjective,
        TaskPlan,
    )
    from aalps.cost_models.errors import AalpsError
    from aalps.cost_models.loading import load_request
    from aalps.optimizer.api import analyze_plan, optimize


def _source_tree_parts() -> None:
    """Let ``aalps.<part>`` resolve to the repository's top-level folders in a source tree.

    Installed, the parts live inside the package (setuptools ``package-dir``). Run from a
    checkout (``python -m aalps`` in the repository root, where ``./aalps`` shadows the
    installed package), the parts are this folder's siblings: the repository root joins
    the package's search path, so that ``aalps.cost_models`` is ``./cost_models``.
    """
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    if not os.path.isfile(os.path.join(here, "cost_models", "__init__.py")) and all(
        os.path.isfile(os.path.join(root, part, "__init__.py"))
        for part in ("cost_models", "optimizer", "server", "client", "proto")
    ):
        __path__.append(root)


_source_tree_parts()

_EXPORTS = {
    "__version__": "aalps._version",
    "AsyncClient": "aalps.client.aio",
    "Client": "aalps.client.client",
    "AalpsError": "aalps.cost_models.errors",
    "AalpsClientError": "aalps.client.errors",
    "CancelledError": "aalps.client.errors",
    "DeadlineExceededError": "aalps.client.errors",
    "FailedPreconditionError": "aalps.client.errors",
    "InfeasibleRequestError": "aalps.client.errors",
    "InvalidArgumentError": "aalps.client.errors",
    "NotFoundError": "aalps.client.errors",
    "ResourceExhaustedError": "aalps.client.errors",
    "UnauthenticatedError": "aalps.client.errors",
    "UnavailableError": "aalps.client.errors",
    "Violation": "aalps.client.errors",
    "CostModel": "aalps.cost_models.domain",
    "Operator": "aalps.cost_models.domain",
    "OptimizeRequest": "aalps.cost_models.domain",
    "Plan": "aalps.cost_models.domain",
    "RankBy": "aalps.cost_models.domain",
    "RoleAssignment": "aalps.cost_models.domain",
    "SearchObjective": "aalps.cost_models.domain",
    "TaskPlan": "aalps.cost_models.domain",
    "load_request": "aalps.cost_models.loading",
    "analyze_plan": "aalps.optimizer.api",
    "optimize": "aalps.optimizer.api",
}

__all__ = [
    "AalpsClientError",
    "AalpsError",
    "AsyncClient",
    "CancelledError",
    "Client",
    "CostModel",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InfeasibleRequestError",
    "InvalidArgumentError",
    "NotFoundError",
    "ResourceExhaustedError",
    "Operator",
    "OptimizeRequest",
    "Plan",
    "RankBy",
    "RoleAssignment",
    "SearchObjective",
    "TaskPlan",
    "UnauthenticatedError",
    "UnavailableError",
    "Violation",
    "__version__",
    "analyze_plan",
    "load_request",
    "optimize",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
