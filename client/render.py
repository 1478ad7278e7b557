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
from aalps.client.reports import StabilityReport, TaskReport
from aalps.client.results import (
    AnalysisReport,
    JobInfo,
    OptimizeReport,
    PlanReport,
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


def _roles(plan_task_roles: Iterable[tuple[str, str, int]]) -> str:
    return ", ".join(
        f"{role}: {model}" + (f" x{votes}" if votes > 1 else "")
        for role, model, votes in plan_task_roles
    )


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
    stats = report.stats
    how = "exhaustive (optimal)" if stats.exhaustive else "stochastic"
    sections.append(
        Section(
            "Search",
            Fields(
                (
                    ("method", how),
                    ("candidates", f"{stats.candidates:,}"),
                    ("trials", f"{stats.trials:,}"),
                    ("seconds", f"{stats.seconds:.2f}"),
                )
            ),
        )
    )
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


def _trials(job: JobInfo) -> str:
    return f"{job.trials_done}/{job.n_trials}" if job.n_trials else str(job.trials_done)


def error_text(error: AalpsClientError) -> str:
    lines = [error.message] + [str(v) for v in error.violations if str(v) != error.message]
    return "; ".join(lines)


def job_document(job: JobInfo) -> Document:
    """A job's state, and its result once it has one."""
    items: list[tuple[str, str]] = [
        ("job", job.job_id),
        ("state", job.state.value),
        ("trials", _trials(job)),
        ("best expected cost", number(job.best_expected_cost)),
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
            number(job.best_expected_cost),
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
