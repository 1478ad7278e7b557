"""Catalog files: one catalog (the models a plan may use) shared by many requests.

A catalog file is YAML or JSON whose top level is the ``catalog`` mapping of a request file
(``models: [...]``), or a mapping with the single key ``catalog`` holding it. ``aalps
optimize|batch --catalog FILE`` puts it in every request in place of the request's own
catalog, which a request file may then leave out; ``aalps catalog from-litellm`` writes
such files. The catalog is checked against the wire schema on reading, so a misspelt field
is reported with the file's name and the field's path before any request is sent; what
depends on a request (a size written over the graph's parameters) is checked with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aalps.client.errors import InvalidArgumentError
from aalps.client.inputs import read_data
from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = ["catalog_message", "read_catalog_file", "request_with_catalog", "with_catalog"]


def read_catalog_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The catalog mapping a file holds, in the shape of a request file's ``catalog``.

    Raises
    ------
    InvalidArgumentError
        the file is missing, unreadable, not YAML/JSON, or not a catalog; each violation
        is named ``<file>: <field>``.
    """
    name = str(path)
    if not Path(path).is_file():
        raise InvalidArgumentError([(name, "no such catalog file")])
    _, data = read_data(path)
    if isinstance(data, Mapping) and set(data) == {"catalog"}:
        data = data["catalog"]
        where = f"{name}: catalog"
    else:
        where = name
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        why = f"must be a catalog mapping (models: [...]), not {kind}"
        raise InvalidArgumentError([(where, why)])
    if "models" not in data:
        field = f"{where}.models" if where != name else f"{name}: models"
        raise InvalidArgumentError([(field, "is required (the catalog's list of models)")])
    catalog = dict(data)
    catalog_message(catalog, name)  # the wire schema: unknown fields, wrong types
    return catalog


def catalog_message(catalog: Mapping[str, Any], name: str = "catalog") -> pb.Catalog:
    """The ``aalps.v1.Catalog`` message of a catalog mapping (errors named ``<name>: ...``)."""
    from aalps.cost_models.errors import InvalidRequestError
    from aalps.proto.convert import dict_to_proto

    message = pb.Catalog()
    try:
        dict_to_proto(catalog, message)
    except InvalidRequestError as error:
        raise InvalidArgumentError(
            [(f"{name}: {v.field}", v.description) for v in error.violations]
        ) from None
    return message


def with_catalog(request_data: Mapping[str, Any], catalog: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a request's data with its catalog replaced by ``catalog`` (or added)."""
    return {**request_data, "catalog": dict(catalog)}


def request_with_catalog(
    source: str | os.PathLike[str] | Mapping[str, Any], catalog: Mapping[str, Any] | None
) -> pb.OptimizeRequest:
    """The request of a file (or built-in example, or dict), with ``catalog`` in place of
    its own when given (the file may then have none)."""
    from aalps.client.inputs import request_message

    if catalog is None:
        return request_message(source)
    if isinstance(source, Mapping):
        name, data = "request", source
    else:
        name, data = read_data(source)
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise InvalidArgumentError([(name, f"must be a mapping of fields, not {kind}")])
    return request_message(with_catalog(data, catalog))
