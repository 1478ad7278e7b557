"""A batch's searches in a pool of processes: one search per core, each request on its own.

``Client.in_process()`` runs a batch through the service core (the same caps, isolation and
completion order as a server) with :class:`BatchProcessEngine` as its engine: each request
is read, validated and searched in one call to a process of a ``ProcessPoolExecutor``
(spawn start method: the core's event loop runs in a thread, which a forked child would
copy mid-flight), and comes back as bytes: the response, or the ``google.rpc.Status`` of
its failure, made in the child, so that no exception has to cross the process boundary.
One request's failure is its own entry; a search that outlives the batch's deadline stops
there (the deadline travels with the request).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import time
from typing import Any

from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.rpc import status_pb2

__all__ = ["BatchProcessEngine", "EntryFailed", "search_entry", "what_if_entry"]


class EntryFailed(Exception):
    """A batch entry's failure, as the status its search process reported."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


def _init_process() -> None:
    """Initializer of a batch process: the search processes' set-up and imports."""
    from aalps.server import workers

    workers.init_search_process(None)


def search_entry(request: bytes, limits: Any, field: str, deadline: float | None) -> bytes:
    """Read, validate and search one request (in a pool process).

    Returns a serialized ``BatchOptimizeResponse``: ``result`` set, or ``error`` with the
    status of whatever failed (field paths under ``field``).
    """
    from aalps.server import workers
    from aalps.server.engines import limit_deadline
    from aalps.server.status import status_for

    try:
        message = pb.OptimizeRequest.FromString(request)
        response = workers.optimize_message(
            message,
            limits,
            field,
            deadline=deadline,
            should_stop=None,
            limit_at=limit_deadline(limits),
        )
    except Exception as error:  # noqa: BLE001 - every failure is this entry's
        return pb.BatchOptimizeResponse(
            error=status_for(error, detail_bytes=None)
        ).SerializeToString()
    return pb.BatchOptimizeResponse(result=response).SerializeToString()


def what_if_entry(
    before: bytes, after: bytes, limits: Any, field: str, deadline: float | None
) -> bytes:
    """One workflow of a what-if (:func:`aalps.server.workers.what_if_message`, in a pool
    process): a serialized ``WhatIfResponse``, its ``error`` set when it failed."""
    from aalps.server import workers
    from aalps.server.engines import limit_deadline
    from aalps.server.status import status_for

    try:
        response = workers.what_if_message(
            pb.OptimizeRequest.FromString(before),
            pb.OptimizeRequest.FromString(after),
            limits,
            field,
            deadline=deadline,
            should_stop=None,
            limit_at=limit_deadline(limits),
        )
    except Exception as error:  # noqa: BLE001 - every failure is this workflow's
        response = pb.WhatIfResponse(error=status_for(error, detail_bytes=None))
    return response.SerializeToString()


class BatchProcessEngine:
    """The engine of a batch's service: each request searched in a pool process.

    ``validate`` does nothing here: :func:`search_entry` validates in the process (one
    reading of the request, not two); the service's caps are still checked first.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_process,
            )
        return self._executor

    async def validate(
        self, request: pb.OptimizeRequest, limits: Any, field: str, *, deadline: float | None
    ) -> int:
        return 0

    @staticmethod
    def _check_deadline(deadline: float | None, field: str) -> None:
        if deadline is not None and time.time() >= deadline:
            from aalps.server.errors import DeadlineExceededError

            raise DeadlineExceededError(f"{field}: deadline exceeded before the search began")

    async def optimize(
        self,
        request: pb.OptimizeRequest,
        limits: Any,
        field: str,
        *,
        deadline: float | None,
        progress: Any,
    ) -> pb.OptimizeResponse:
        self._check_deadline(deadline, field)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self._pool(), search_entry, request.SerializeToString(), limits, field, deadline
        )
        entry = pb.BatchOptimizeResponse.FromString(data)
        if entry.HasField("error"):
            raise EntryFailed(entry.error)
        return entry.result

    async def what_if(
        self,
        before: pb.OptimizeRequest,
        after: pb.OptimizeRequest,
        limits: Any,
        field: str,
        *,
        deadline: float | None,
    ) -> pb.WhatIfResponse:
        """Both of a workflow's searches in one pool process; a failure is the response's
        ``error``."""
        self._check_deadline(deadline, field)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self._pool(),
            what_if_entry,
            before.SerializeToString(),
            after.SerializeToString(),
            limits,
            field,
            deadline,
        )
        return pb.WhatIfResponse.FromString(data)

    def close(self, *, wait: bool = False) -> None:
        """Stop the pool: queued searches are dropped, running ones end with their process
        (``wait``: return when the processes have exited)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
