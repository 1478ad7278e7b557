"""The typed, synchronous aalps client.

>>> from aalps import Client
>>> with Client.in_process() as aalps:                       # doctest: +SKIP
...     report = aalps.optimize("k_task_routing")
...     print(report.plan.bound_text, report.separation[0].text)
m_s*n k

``Client.remote("host:port", token=...)`` gives the same API over gRPC. Requests may be a
path to a YAML/JSON file (or the name of a built-in example), a dict with the proto field
names, or an ``aalps_pb2.OptimizeRequest``. Every failure is an
:class:`~aalps.client.errors.AalpsClientError` subclass.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

import grpc
from aalps.client.backend import Backend, ProgressCallback
from aalps.client.errors import AalpsClientError, status_from_error, strip_field_prefix
from aalps.client.in_process import InProcessBackend
from aalps.client.inputs import PlanLike, RequestLike, plan_message, request_message
from aalps.client.job_batch import DEFAULT_WINDOW, run_as_jobs
from aalps.client.remote import RemoteBackend
from aalps.client.results import (
    AnalysisReport,
    BatchItem,
    JobInfo,
    JobState,
    OptimizeReport,
    analysis_report_from_proto,
    batch_item_from_proto,
    job_from_proto,
    optimize_report_from_proto,
)
from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = ["Client"]

_UNSET: float = -1.0


class Client:
    """Plans agent systems in this process or on an aalps server, with one API.

    Use :meth:`remote` or :meth:`in_process` to build one; close it (or use ``with``) to
    release the channel or stop in-memory jobs.

    In process, jobs are kept in memory and run on a background thread for as long as
    the client lives; they are not persisted (a server persists them).
    """

    def __init__(self, backend: Backend, *, timeout: float | None = None) -> None:
        self._backend = backend
        self._timeout = timeout

    @classmethod
    def remote(
        cls,
        target: str,
        token: str | None = None,
        timeout: float | None = None,
        *,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> Client:
        """A client of the server at ``target`` ("host:port"; "host" means port 50051).

        The channel retries a call that fails with UNAVAILABLE (up to 5 attempts, with
        backoff) and sends keepalive pings (:mod:`aalps.client.channels`).

        Parameters
        ----------
        target
            The server's address.
        token
            A bearer token, sent as ``authorization: Bearer <token>``.
        timeout
            The default deadline of every call, in seconds (None: none).
        credentials
            TLS channel credentials, e.g.
            ``channel_credentials(TlsOptions(ca="ca.pem"))`` from
            :mod:`aalps.client.channels` (with ``cert``/``key`` for mTLS); None uses a
            plaintext channel.
        """
        return cls(RemoteBackend(target, token=token, credentials=credentials), timeout=timeout)

    @classmethod
    def in_process(cls, timeout: float | None = None) -> Client:
        """A client that runs the optimizer in this process (no server, no network)."""
        return cls(InProcessBackend(), timeout=timeout)

    def _deadline(self, timeout: float | None) -> float | None:
        return self._timeout if timeout == _UNSET else timeout

    def optimize(
        self,
        request: RequestLike,
        *,
        timeout: float | None = _UNSET,
        progress: ProgressCallback | None = None,
    ) -> OptimizeReport:
        """Find the cheapest plan for ``request``.

        Parameters
        ----------
        request
            A file path, built-in example name, dict or ``OptimizeRequest``.
        timeout
            The call's deadline in seconds (default: the client's).
        progress
            Called with each :class:`~aalps.client.results.Progress` update of the
            search. In process only: a remote Optimize is unary and reports none
            (submit a job and :meth:`watch` it to follow a remote search).

        Raises
        ------
        InvalidArgumentError
            the request is malformed (every field named).
        InfeasibleRequestError
            no plan satisfies the constraints.
        """
        message = request_message(request)
        response = self._backend.optimize(
            message, timeout=self._deadline(timeout), progress=progress
        )
        return optimize_report_from_proto(response)

    def analyze(
        self,
        request: RequestLike,
        plan: PlanLike,
        baseline: PlanLike | None = None,
        *,
        timeout: float | None = _UNSET,
    ) -> AnalysisReport:
        """Cost ``plan`` (and ``baseline``, default: the request's naive plan) without search."""
        message = pb.AnalyzePlanRequest(request=request_message(request), plan=plan_message(plan))
        if baseline is not None:
            message.baseline.CopyFrom(plan_message(baseline))
        response = self._backend.analyze(message, timeout=self._deadline(timeout))
        return analysis_report_from_proto(response)

    def batch(
        self,
        requests: Iterable[RequestLike],
        *,
        catalog: Mapping[str, Any] | pb.Catalog | None = None,
        timeout: float | None = _UNSET,
    ) -> Iterator[BatchItem]:
        """Optimize many requests, yielding each outcome as it finishes (``index`` says which).

        A request that cannot even be read (missing file, bad YAML) yields an error item
        at once; the others are sent in one BatchOptimize call. ``catalog`` (a catalog
        mapping, e.g. :func:`~aalps.client.catalog_files.read_catalog_file`'s, or the
        message) is sent once and replaces every request's own catalog.
        """
        shared = None
        if catalog is not None:
            from aalps.client.catalog_files import catalog_message

            shared = catalog if isinstance(catalog, pb.Catalog) else catalog_message(catalog)
        messages: list[pb.OptimizeRequest] = []
        positions: list[int] = []
        failures: list[BatchItem] = []
        for index, request in enumerate(requests):
            try:
                messages.append(request_message(request))
                positions.append(index)
            except AalpsClientError as error:
                entry = pb.BatchOptimizeResponse(index=index, error=status_from_error(error))
                failures.append(batch_item_from_proto(entry))
        yield from failures
        if not messages:
            return
        message = pb.BatchOptimizeRequest(requests=messages)
        if shared is not None:
            message.catalog.CopyFrom(shared)
        stream = self._backend.batch(message, timeout=self._deadline(timeout))
        for entry in stream:
            if entry.HasField("error"):
                strip_field_prefix(entry.error, f"requests[{entry.index}].")
            entry.index = positions[entry.index]
            yield batch_item_from_proto(entry)

    def what_if(
        self, request: pb.WhatIfRequest, *, timeout: float | None = _UNSET
    ) -> Iterator[pb.WhatIfResponse]:
        """Every workflow under the old and the new catalog, one response per workflow in
        request order (``changed``, the plans and costs before and after, or ``error``)."""
        yield from self._backend.what_if(request, timeout=self._deadline(timeout))

    def batch_jobs(
        self,
        requests: Iterable[RequestLike],
        *,
        catalog: Mapping[str, Any] | pb.Catalog | None = None,
        window: int = DEFAULT_WINDOW,
        poll_seconds: float = 0.2,
    ) -> Iterator[BatchItem]:
        """Optimize many requests as jobs, yielding each outcome as its job ends.

        Unlike :meth:`batch` (one call, run by the server that receives it), every request
        becomes a job in the server's store, which every replica sharing that store claims
        from: the batch spreads over the replicas and survives one dying. At most
        ``window`` jobs are active at once (the server limits active jobs per owner).
        ``catalog`` replaces every request's own, as in :meth:`batch`.
        """
        shared = None
        if catalog is not None:
            from aalps.client.catalog_files import catalog_message

            shared = catalog if isinstance(catalog, pb.Catalog) else catalog_message(catalog)
        messages: list[pb.OptimizeRequest | AalpsClientError] = []
        for request in requests:
            try:
                message = request_message(request)
            except AalpsClientError as error:
                messages.append(error)
                continue
            if shared is not None:
                message.catalog.CopyFrom(shared)
            messages.append(message)
        yield from run_as_jobs(
            messages,
            lambda message: self.submit(message),
            lambda job_id: self.get_job(job_id),
            window=window,
            poll_seconds=poll_seconds,
        )

    def submit(
        self,
        request: RequestLike,
        *,
        timeout: float | None = _UNSET,
        request_id: str | None = None,
    ) -> JobInfo:
        """Start an optimization job; returns it at once (state PENDING).

        ``request_id`` (default: a fresh UUID) makes the call safe to retry: the server
        returns the job an earlier call with that id made instead of a second one.
        """
        message = pb.SubmitJobRequest(
            request=request_message(request), request_id=request_id or uuid.uuid4().hex
        )
        response = self._backend.submit(message, timeout=self._deadline(timeout))
        return job_from_proto(response.job)

    def get_job(self, job_id: str, *, timeout: float | None = _UNSET) -> JobInfo:
        """One job, with its result once it has finished."""
        response = self._backend.get_job(
            pb.GetJobRequest(job_id=job_id), timeout=self._deadline(timeout)
        )
        return job_from_proto(response.job)

    def watch(self, job_id: str, *, timeout: float | None = None) -> Iterator[JobInfo]:
        """Snapshots of a job until it is final; the last carries the result or the error.

        ``timeout`` bounds the whole watch (default: none, whatever the client's default).
        """
        stream = self._backend.watch(pb.WatchJobRequest(job_id=job_id), timeout=timeout)
        for response in stream:
            yield job_from_proto(response.job)

    def cancel(self, job_id: str, *, timeout: float | None = _UNSET) -> JobInfo:
        """Ask a job to stop; returns its state (a finished job is returned unchanged)."""
        response = self._backend.cancel(
            pb.CancelJobRequest(job_id=job_id), timeout=self._deadline(timeout)
        )
        return job_from_proto(response.job)

    def list_jobs(
        self,
        state: JobState | str | None = None,
        page_size: int = 50,
        *,
        timeout: float | None = _UNSET,
    ) -> Iterator[JobInfo]:
        """The caller's jobs, newest first, fetched a page at a time as the iterator goes."""
        request = pb.ListJobsRequest(page_size=page_size)
        if state is not None:
            request.state = JobState.number(state)
        while True:
            page = self._backend.list_jobs(request, timeout=self._deadline(timeout))
            for job in page.jobs:
                yield job_from_proto(job)
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def close(self) -> None:
        """Release the channel (remote) or cancel unfinished in-memory jobs (in process)."""
        self._backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
