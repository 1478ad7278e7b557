"""A batch's searches in a pool of processes: one search per core, each request on its own.

``Client.in_process()`` runs a batch through the service core (the same caps, isolation and
completion order as a server) with :class:`BatchProcessEngine` as its engine: each request
is read, validated and searched in one call to a process of a ``ProcessPoolExecutor``, and
comes back as bytes: the response, or the ``google.rpc.Status`` of its failure, made in the
child, so that no exception has to cross the process boundary. One request's failure is its
own entry; a search that outlives the batch's deadline stops there (the deadline travels
with the request).

The processes are forked from a forkserver that has imported the search once
(:data:`PRELOAD`): each starts in milliseconds instead of importing sympy and Optuna for
seconds, and exits without tearing those modules down. Not fork from this process: the
core's event loop runs in a thread, which a forked child would copy mid-flight. Where there
is no forkserver (Windows), the processes are spawned. A process that dies (killed, out of
memory, a crash in native code) breaks the pool: every request then in flight is run again
on its own, in a process of its own, so that only the one that kills its process fails
(:class:`~aalps.server.errors.WorkerDiedError`); a new pool takes the others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.rpc import status_pb2

__all__ = [
    "PRELOAD",
    "BatchProcessEngine",
    "EntryFailed",
    "search_entry",
    "start_forkserver",
    "what_if_entry",
]

#: Modules the forkserver imports before it forks a batch process: what a search needs,
#: and what sympy, Optuna and the printers import on first use (0.3 s a process otherwise).
#: The forkserver skips a module that does not import.
PRELOAD = (
    "aalps.client.batch_pool",
    "aalps.server.workers",
    "aalps.server.engines",
    "aalps.server.status",
    "aalps.proto.convert",
    "aalps.optimizer",
    "optuna",
    "numpy.random",
    "sympy.assumptions.wrapper",
    "sympy.codegen.ast",
    "sympy.combinatorics",
    "sympy.physics.units",
    "sympy.sets.setexpr",
    "sympy.tensor.tensor",
)


def start_forkserver() -> None:
    """Start the forkserver now, where there is one: it imports :data:`PRELOAD` in the
    background (seconds of CPU) while this process reads a batch's requests, so that the
    batch's processes fork at once. Returns at once; harmless when it runs already."""
    if _context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


def _context() -> multiprocessing.context.BaseContext:
    """The forkserver, preloading the search's modules, where the platform has one; else
    spawn. (The preload list is the process's one forkserver's: set before it starts.)"""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


class EntryFailed(Exception):
    """A batch entry's failure, as the status its search process reported."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


def _init_process() -> None:
    """Initializer of a batch process: the search processes' set-up and imports, and the
    collector's thresholds of a search (:mod:`aalps.optimizer.collection_pause`) for the
    process's life: it only searches, and between two searches (reading a request, printing
    a result) the usual thresholds made full collections walk every live object for nothing
    (0.9 s -> 0.23 s of collections in 150 random requests).
    """
    from aalps.optimizer.collection_pause import SEARCH_THRESHOLDS
    from aalps.server import workers

    workers.init_search_process(None)
    gc.set_threshold(*SEARCH_THRESHOLDS)


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
    reading of the request, not two); the service's caps are still checked first. The
    service keeps more requests in flight than there are processes, so that each process
    finds its next request queued when it finishes one.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        # Requests caught in a broken pool, each run again alone in a one-process pool.
        self._solo: concurrent.futures.ProcessPoolExecutor | None = None
        self._solo_turn = asyncio.Lock()

    @staticmethod
    def _new_pool(processes: int) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=processes, mp_context=_context(), initializer=_init_process
        )

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = self._new_pool(self.processes)
        return self._executor

    async def _run(self, function: Callable[..., bytes], *args: Any) -> bytes:
        """``function(*args)`` in a pool process; run again alone if the pool broke under it.

        A process that dies fails every call then in flight in its pool: each is run again
        in a one-process pool, one at a time, so that a call failing there is the one that
        killed its process (:class:`~aalps.server.errors.WorkerDiedError`, this entry's
        error alone); the rest of the batch goes on in a new pool.
        """
        loop = asyncio.get_running_loop()
        executor = self._pool()
        try:
            return await loop.run_in_executor(executor, function, *args)
        except BrokenProcessPool:
            self._discard(executor)
        async with self._solo_turn:
            if self._solo is None:
                self._solo = self._new_pool(1)
            solo = self._solo
            try:
                return await loop.run_in_executor(solo, function, *args)
            except BrokenProcessPool:
                from aalps.server.errors import WorkerDiedError

                self._solo = None
                solo.shutdown(wait=False, cancel_futures=True)
                raise WorkerDiedError(
                    "its search process died (killed, or out of memory)"
                ) from None

    def _discard(self, broken: concurrent.futures.ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, whichever of its calls sees it first)."""
        if self._executor is broken:
            self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

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
        data = await self._run(search_entry, request.SerializeToString(), limits, field, deadline)
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
        data = await self._run(
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
        for executor in (self._executor, self._solo):
            if executor is not None:
                executor.shutdown(wait=wait, cancel_futures=True)
        self._executor = self._solo = None
