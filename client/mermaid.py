"""A plan's topology as a Mermaid flowchart, for the markdown report.

One node per task (its id and operator), one rounded node per role (role and model, with
the votes), a line from each task to its roles and an arrow per edge of the task graph.
Node ids are derived from the task ids and role names (``t_<task>``, ``t_<task>__<role>``),
which aalps already restricts to identifiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aalps.client.reports import PlanReport

__all__ = ["plan_flowchart", "topology_markdown"]


def _id(task: str, role: str = "") -> str:
    return f"t_{task}" + (f"__{role}" if role else "")


def plan_flowchart(plan: PlanReport, edges: Iterable[tuple[str, str]] = ()) -> str:
    """The Mermaid ``flowchart LR`` text of ``plan`` with the graph's ``edges``."""
    lines = ["flowchart LR"]
    for task in plan.tasks:
        lines.append(f'  {_id(task.task_id)}["{task.task_id}: {task.operator}"]')
        for role in task.roles:
            text = f"{role.role}: {role.models_text}"
            lines.append(f'  {_id(task.task_id, role.role)}(["{text}"])')
            lines.append(f"  {_id(task.task_id)} --- {_id(task.task_id, role.role)}")
    for source, target in edges:
        lines.append(f"  {_id(source)} --> {_id(target)}")
    return "\n".join(lines) + "\n"


def topology_markdown(plan: PlanReport, edges: Sequence[tuple[str, str]] = ()) -> str:
    """A markdown section holding the flowchart in a ``mermaid`` code block."""
    return f"\n## Topology\n\n```mermaid\n{plan_flowchart(plan, edges)}```\n"
