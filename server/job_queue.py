"""Which pending job runs next: owners in turn, small jobs first, one slot kept for them.

A plain FIFO let one long job hold the only job slot (the default two search processes
keep one for interactive calls) while five small jobs behind it waited for 15 minutes, and
let one owner's 300 jobs delay everyone else's. :class:`FairQueue` orders the pending jobs
instead:

- **owners in turn**: the next job comes from the owner whose last job started longest
  ago (an owner with nothing started yet goes first), so one owner's backlog never delays
  another's next job by more than one turn;
- **small first within an owner**: by estimated size (``search.n_trials`` x tasks, see
  :func:`estimated_size`), then by submission order;
- **a small-job lane**: the runner has ``slots`` general job slots plus one more lane that
  only jobs of at most ``small_job_size`` may use, so small jobs keep moving while long
  ones run (:class:`~aalps.server.jobs.JobRunner` asks :meth:`FairQueue.pop` with
  ``max_size``).

The queue is a plain data structure (no I/O, no asyncio), used from the event loop.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from aalps.server.store import JobRecord

__all__ = ["FairQueue", "Pending", "estimated_size"]


def estimated_size(job: JobRecord) -> int:
    """Trials x tasks of a stored job (its request JSON is parsed: call it off the loop)."""
    try:
        tasks = len(json.loads(job.request_json).get("graph", {}).get("tasks", []))
    except (ValueError, AttributeError):
        tasks = 1
    return max(1, job.n_trials) * max(1, tasks)


@dataclass(order=True)
class Pending:
    """A queued job, ordered by size then submission."""

    size: int
    seq: int
    job: JobRecord = field(compare=False)


class FairQueue:
    """Pending jobs by owner; :meth:`pop` picks the next one (see the module docstring)."""

    def __init__(self) -> None:
        self._by_owner: dict[str, list[Pending]] = {}
        self._last_start: dict[str, int] = {}
        self._seq = itertools.count()
        self._turn = itertools.count()

    def __len__(self) -> int:
        return sum(len(jobs) for jobs in self._by_owner.values())

    def __contains__(self, job_id: object) -> bool:
        return any(p.job.job_id == job_id for jobs in self._by_owner.values() for p in jobs)

    def push(self, job: JobRecord, size: int) -> None:
        """Queue ``job`` of estimated ``size`` (trials x tasks)."""
        jobs = self._by_owner.setdefault(job.owner, [])
        jobs.append(Pending(size, next(self._seq), job))
        jobs.sort()

    def remove(self, job_id: str) -> bool:
        """Drop a queued job (cancelled while PENDING); whether it was queued."""
        for owner, jobs in self._by_owner.items():
            for i, pending in enumerate(jobs):
                if pending.job.job_id == job_id:
                    del jobs[i]
                    if not jobs:
                        del self._by_owner[owner]
                    return True
        return False

    def pop(self, max_size: int | None = None) -> Pending | None:
        """The next job to start (of at most ``max_size``), or None when none fits."""
        best: tuple[int, int, str] | None = None
        for owner, jobs in self._by_owner.items():
            if max_size is not None and jobs[0].size > max_size:
                continue
            key = (self._last_start.get(owner, -1), jobs[0].seq, owner)
            if best is None or key < best:
                best = key
        if best is None:
            return None
        owner = best[2]
        jobs = self._by_owner[owner]
        pending = jobs.pop(0)
        if not jobs:
            del self._by_owner[owner]
        self._last_start[owner] = next(self._turn)
        return pending

    def clear(self) -> None:
        """Forget every queued job (shutdown: they stay PENDING in the store)."""
        self._by_owner.clear()
