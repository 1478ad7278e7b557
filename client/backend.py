"""What a :class:`~aalps.client.Client` runs against: a remote stub or the in-process optimizer.

Both backends speak the wire messages of ``aalps.v1`` and raise
:class:`~aalps.client.errors.AalpsClientError`, so the client above them (request loading, report
building) is one code path whatever the transport — the OSS Vizier pattern, which also lets
one test suite run against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from aalps.client.results import Progress
from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = ["Backend", "ProgressCallback"]

#: Called with each progress update of a search.
ProgressCallback = Callable[[Progress], None]


class Backend(Protocol):
    """The calls of ``aalps.v1.AalpsService``, on messages, with typed errors.

    ``timeout`` is the call's deadline in seconds (None: no deadline). Streams end when the
    server ends them; a consumer that stops early cancels the call.
    """

    def optimize(
        self,
        request: pb.OptimizeRequest,
        *,
        timeout: float | None,
        progress: ProgressCallback | None,
    ) -> pb.OptimizeResponse: ...

    def analyze(
        self, request: pb.AnalyzePlanRequest, *, timeout: float | None
    ) -> pb.AnalyzePlanResponse: ...

    def batch(
        self, request: pb.BatchOptimizeRequest, *, timeout: float | None
    ) -> Iterator[pb.BatchOptimizeResponse]: ...

    def what_if(
        self, request: pb.WhatIfRequest, *, timeout: float | None
    ) -> Iterator[pb.WhatIfResponse]: ...

    def submit(
        self, request: pb.SubmitJobRequest, *, timeout: float | None
    ) -> pb.SubmitJobResponse: ...

    def get_job(self, request: pb.GetJobRequest, *, timeout: float | None) -> pb.GetJobResponse: ...

    def watch(
        self, request: pb.WatchJobRequest, *, timeout: float | None
    ) -> Iterator[pb.WatchJobResponse]: ...

    def cancel(
        self, request: pb.CancelJobRequest, *, timeout: float | None
    ) -> pb.CancelJobResponse: ...

    def list_jobs(
        self, request: pb.ListJobsRequest, *, timeout: float | None
    ) -> pb.ListJobsResponse: ...

    def close(self) -> None: ...
