"""Lay out reports as documents: what a person reads in ``--format table|markdown|latex``.

An optimization shows, per task, the operator, the model of every role, the operator's
parameters, expected cost, success probability and latency (for the plan and for the
baseline); then the totals with the 95th-percentile cost and the Θ bounds; the
separation(s); crossovers; and how the search went. ``--format json`` does not come here:
it prints the response message itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from aalps.client.document import FORMATS, WRITERS, Document, Fields, Math, Section, Table
from aalps.client.errors import AalpsClientError
from aalps.client.reports import RoleReport, StabilityReport, TaskReport
from aalps.client.results import (
    AnalysisReport,
    JobInfo,
    OptimizeReport,
    PlanReport,
    SearchStatsReport,
    SeparationReport,
)

__all__ = [
    "FORMATS",
    "analysis_document",
    "error_text",
    "job_document",
    "jobs_document",
    "json_text",
    "number",
    "optimize_document",
    "probability",
    "trial_count",
    "write",
]


def number(value: float) -> str:
    """A cost or latency, readable at any scale: ``1,234``, ``0.5``, ``1.4e+15``."""
    if value == 0:
        return "0"
    if abs(value) >= 1e7 or abs(value) < 1e-3:
        return f"{value:.4g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def probability(value: float) -> str:
    return f"{value:.4f}"


def _roles(plan_task_roles: Iterable[RoleReport]) -> str:
    return ", ".join(f"{r.role}: {r.models_text}" for r in plan_task_roles)


def _bound(plan: PlanReport) -> Math:
    return Math(plan.bound_text, plan.bound_latex, "Θ")


def _task_rows(name: str, plan: PlanReport) -> list[tuple[str, ...]]:
    return [
        (
            name,
            task.task_id,
            task.operator,
            _roles(task.roles),
            ", ".join(f"{k}={v}" for k, v in task.params.items()),
            number(task.expected_cost),
            probability(task.success_probability),
            number(task.latency),
        )
        for task in plan.tasks
    ]


def _plans_sections(named: list[tuple[str, PlanReport]]) -> list[Section]:
    tasks = Table(
        ("plan", "task", "operator", "roles", "params", "expected cost", "success", "latency"),
        tuple(row for name, plan in named for row in _task_rows(name, plan)),
        frozenset({5, 6, 7}),
    )
    totals = Table(
        (
            "plan",
            "expected cost",
            "success",
            "cost of a correct result",
            "latency",
            "p95 cost",
            "bound",
        ),
        tuple(
            (
                name,
                number(plan.expected_cost),
                probability(plan.success_probability),
                number(plan.cost_of_pass),
                number(plan.latency),
                number(plan.cost_p95) + (" (approx.)" if plan.cost_p95_approximate else ""),
                _bound(plan),
            )
            for name, plan in named
        ),
        frozenset({1, 2, 3, 4, 5}),
    )
    return [Section("Tasks", tasks), Section("Totals", totals)]


def _separation(items: Iterable[SeparationReport]) -> Section:
    rows = tuple((s.role or "whole plan", Math(s.text, s.latex, "Θ")) for s in items)
    return Section("Separation (baseline / plan)", Fields(rows or (("whole plan", "none"),)))


def optimize_document(report: OptimizeReport, title: str = "") -> Document:
    """The optimized plan against its baseline, with crossovers and search statistics."""
    named = [("plan", report.plan), ("baseline", report.baseline)]
    if report.asymptotic_plan is not None:
        named.append(("asymptotic", report.asymptotic_plan))
    named += [(f"pareto {i + 1}", p) for i, p in enumerate(report.pareto_front)]
    sections = _plans_sections(named) + [_separation(report.separation)]
    if report.crossovers:
        rows = tuple((number(c.scale), _bound(c.plan), c.text) for c in report.crossovers)
        body: Table | Fields = Table(("scale ×", "bound", "note"), rows, frozenset({0}))
    else:
        body = Fields((("none", "no other plan overtakes this one as the parameters grow"),))
    sections.append(Section("Crossovers", body))
    if report.stability:
        sections.append(stability_section(report.stability))
    if report.setup:
        volume = "none" if report.break_even is None else f"{number(report.break_even)} runs"
        setup = (("break-even volume", volume), ("note", report.setup))
        sections.append(Section("Setup (one-time cost)", Fields(setup)))
    sections.append(Section("Search", Fields(_search_fields(report.stats))))
    return Document(title or "aalps: optimized plan", tuple(sections))


_FIGURES = {
    "price_per_input_token": "input price",
    "price_per_output_token": "output price",
    "size": "size",
}


def factor(value: float) -> str:
    """A factor as ``×3.1`` (four significant digits; ``×∞`` for none)."""
    return "×∞" if value == float("inf") else f"×{value:.4g}"


def _changes(tasks: Iterable[TaskReport]) -> str:
    return "; ".join(f"{t.task_id}: {t.operator} ({_roles(t.roles)})" for t in tasks)


def stability_sentence(item: StabilityReport) -> str:
    """``stays optimal while m1's output price is within ×0.42–×3.1; beyond ×3.1, …``."""
    figure = _FIGURES.get(item.field) or f"{item.capability} reliability"
    if item.field == "reliability" and item.high == float("inf"):
        # no upper end: still optimal with the reliability raised to 1
        text = f"stays optimal while {item.model}'s {figure} is at least {factor(item.low)}"
    else:
        text = (
            f"stays optimal while {item.model}'s {figure} is within "
            f"{factor(item.low)}–{factor(item.high)}"
        )
    if item.above:
        text += f"; beyond {factor(item.high)}, {_changes(item.above)}"
    if item.below:
        text += f"; below {factor(item.low)}, {_changes(item.below)}"
    if item.conditional:
        text += " (over single-task changes)"
    return text


def stability_section(items: Iterable[StabilityReport]) -> Section:
    """Per model figure the plan uses, the factor range over which it stays optimal."""
    rows = tuple(
        (
            f"{item.model}.{item.field if item.field != 'reliability' else item.capability}",
            stability_sentence(item),
        )
        for item in items
    )
    return Section("Stability (factor on each figure)", Fields(rows))


def analysis_document(report: AnalysisReport, title: str = "") -> Document:
    """A supplied plan against its baseline."""
    named = [("plan", report.plan), ("baseline", report.baseline)]
    sections = _plans_sections(named) + [_separation(report.separation)]
    return Document(title or "aalps: plan analysis", tuple(sections))


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def trial_count(stats: SearchStatsReport) -> str:
    """Trials evaluated of those asked, with the reason when fewer ran: ``20 of 200 (...)``."""
    text = f"{stats.trials:,}" + (f" of {stats.n_trials:,}" if stats.n_trials else "")
    if stats.trials < stats.n_trials and stats.stop_reason:
        text += f" ({stats.stop_reason})"
    return text


def _search_fields(stats: SearchStatsReport) -> tuple[tuple[str, str], ...]:
    """An exhaustive search says so ("candidates N, all scored"), not "trials 2 of 200"."""
    if stats.exhaustive:
        items = [
            ("method", "exhaustive (optimal)"),
            ("candidates", f"{stats.candidates:,}, all scored"),
        ]
        if stats.trials:
            items.append(("trials", f"{stats.trials:,}"))
    else:
        items = [
            ("method", "stochastic"),
            ("candidates", f"{stats.candidates:,}"),
            ("trials", trial_count(stats)),
        ]
    return (*items, ("seconds", f"{stats.seconds:.2f}"))


def _trials(job: JobInfo) -> str:
    """A finished job's counts come from its result; a running one's are done/planned."""
    if job.result is not None:
        stats = job.result.stats
        return (
            f"candidates {stats.candidates:,}, all scored"
            if stats.exhaustive
            else trial_count(stats)
        )
    return f"{job.trials_done}/{job.n_trials}" if job.n_trials else str(job.trials_done)


def _best(job: JobInfo) -> str:
    return number(job.best_expected_cost) if job.best_expected_cost is not None else "none yet"


def error_text(error: AalpsClientError) -> str:
    lines = [error.message] + [str(v) for v in error.violations if str(v) != error.message]
    return "; ".join(lines)


def job_document(job: JobInfo) -> Document:
    """A job's state, and its result once it has one."""
    items: list[tuple[str, str]] = [
        ("job", job.job_id),
        ("state", job.state.value),
        ("trials", _trials(job)),
        ("best expected cost", _best(job)),
        ("created", _time(job.create_time)),
        ("updated", _time(job.update_time)),
    ]
    if job.error is not None:
        items.append(("error", f"{job.error.status_code.name}: {error_text(job.error)}"))
    sections = [Section("Job", Fields(tuple(items)))]
    if job.result is not None:
        sections += list(optimize_document(job.result).sections)
    return Document(f"aalps job {job.job_id}", tuple(sections))


def jobs_document(jobs: Iterable[JobInfo]) -> Document:
    """One line per job."""
    rows = tuple(
        (
            job.job_id,
            job.state.value,
            _trials(job),
            _best(job),
            _time(job.create_time),
        )
        for job in jobs
    )
    table = Table(("job", "state", "trials", "best expected cost", "created"), rows, frozenset({3}))
    return Document("aalps jobs", (Section("", table),))


def write(document: Document, fmt: str) -> str:
    """The document in ``table``, ``markdown`` or ``latex``."""
    return WRITERS[fmt](document)


def json_text(data: object) -> str:
    """Pretty JSON, non-ASCII kept (Θ stays Θ)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
