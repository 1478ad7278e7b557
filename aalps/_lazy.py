"""Names a package exports on first use (PEP 562), so importing it stays cheap.

``aalps``, ``aalps.client`` and ``aalps.cost_models`` list what they export and the module
each name comes from; :func:`lazy_exports` gives them the module-level ``__getattr__`` and
``__dir__`` that import a name's module when the name is first read (``aalps --help`` must
not pay for sympy or grpc).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    namespace: MutableMapping[str, Any],
    exports: Mapping[str, str],
    public: Sequence[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a name to its module.

    A name read once is stored in ``namespace`` (the package's globals), so later reads
    do not come back here.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
