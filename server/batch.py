"""BatchOptimize: many requests through the search pool, answered as each finishes.

One bad request must not sink the batch: its entry carries a ``google.rpc.Status`` (the
same status a unary call would get, BadRequest details and all, with field paths
prefixed ``requests[i].``) and the stream goes on. Up to ``parallel`` requests are in
flight at once; the rest wait, so a huge batch does not flood the pool's queue ahead of
other callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.server import workers
from aalps.server.converters import check_request_caps
from aalps.server.outcome import Limits
from aalps.server.pool import SearchPool
from aalps.server.status import status_for


async def optimize_batch(
    pool: SearchPool,
    requests: Sequence[pb.OptimizeRequest],
    limits: Limits,
    *,
    parallel: int,
    deadline: float | None,
) -> AsyncIterator[pb.BatchOptimizeResponse]:
    """Yield one response per request, in completion order (``index`` says which).

    Closing the generator early (the client cancelled) cancels the requests still in
    flight, which stops their searches.
    """
    slots = asyncio.Semaphore(parallel)

    async def one(index: int, request: pb.OptimizeRequest) -> pb.BatchOptimizeResponse:
        async with slots:
            try:
                field = f"requests[{index}]"
                check_request_caps(
                    request,
                    max_tasks=limits.max_tasks,
                    max_models=limits.max_models,
                    max_trials=limits.max_trials,
                    field=field,
                )
                outcome = await pool.run_stoppable(
                    workers.optimize_request,
                    request.SerializeToString(),
                    limits,
                    field,
                    deadline=deadline,
                )
                result = pb.OptimizeResponse.FromString(outcome.unwrap())
                return pb.BatchOptimizeResponse(index=index, result=result)
            except Exception as error:  # noqa: BLE001 - every failure is this entry's status
                return pb.BatchOptimizeResponse(index=index, error=status_for(error))

    tasks = [asyncio.create_task(one(i, r)) for i, r in enumerate(requests)]
    try:
        for finished in asyncio.as_completed(tasks):
            yield await finished
    finally:
        for task in tasks:
            task.cancel()
