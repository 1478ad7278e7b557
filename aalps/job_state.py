"""The life cycle of an optimization job, shared by the service and the client.

One definition for both sides: the job store records it (:mod:`aalps.server.store`), the
client reports it (:mod:`aalps.client.results`). Its members' values are the names of the
wire enum ``aalps.v1.JobState``; :meth:`JobState.number` gives the wire number. This module
imports neither the server nor the client (nor protobuf) at import time.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = ["JobState"]


class JobState(enum.StrEnum):
    """The life cycle of a job: PENDING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED.

    ``JOB_STATE_UNSPECIFIED`` is the wire's "no state" (a ListJobs without a filter); a
    stored job is never in it.
    """

    JOB_STATE_UNSPECIFIED = "JOB_STATE_UNSPECIFIED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def final(self) -> bool:
        """True once the job can no longer change."""
        return self in _FINAL

    @classmethod
    def number(cls, state: JobState | str) -> pb.JobState.ValueType:
        """The wire value of ``state`` (a member or its name); InvalidArgumentError if none."""
        from aalps.client.errors import InvalidArgumentError
        from aalps.proto.aalps.v1 import aalps_pb2 as pb

        try:
            return pb.JobState.Value(cls(state).value)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise InvalidArgumentError([("state", f"{state!r} is not one of {names}")]) from None


_FINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
