"""A tiny format-neutral document (titled tables and key/value lists) and its three writers.

Reports are laid out once (:mod:`aalps.client.render`) and written as an aligned plain-text
table, a GitHub markdown table, or a LaTeX ``tabular`` with bounds in math mode. A
:class:`Math` cell carries both spellings of an expression, so each writer picks its own.
Plain Python formatting only: no dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "FORMATS",
    "Cell",
    "Document",
    "Fields",
    "Math",
    "Section",
    "Table",
    "WRITERS",
    "latex_escape",
    "to_latex",
    "to_markdown",
    "to_text",
]


@dataclass(frozen=True)
class Math:
    """An expression: ``text`` (sympy's form) for text and markdown, ``latex`` for LaTeX.

    ``wrap`` names a function the writers put around it, e.g. "Θ" gives ``Θ(k)``.
    """

    text: str
    latex: str
    wrap: str = ""


Cell = str | Math


@dataclass(frozen=True)
class Table:
    """Rows under headers; columns listed in ``numeric`` are right-aligned."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Fields:
    """Key/value lines, e.g. ``separation: Θ(k)``."""

    items: tuple[tuple[str, Cell], ...]


@dataclass(frozen=True)
class Section:
    title: str
    body: Table | Fields


@dataclass(frozen=True)
class Document:
    title: str
    sections: tuple[Section, ...]


# -- plain text -----------------------------------------------------------------------------


def _text_cell(cell: Cell) -> str:
    if isinstance(cell, Math):
        return f"{cell.wrap}({cell.text})" if cell.wrap else cell.text
    return cell


def _text_table(table: Table) -> list[str]:
    cells = [list(table.headers)] + [[_text_cell(c) for c in row] for row in table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.headers))]

    def line(row: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if i in table.numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(cells[0]), rule] + [line(row) for row in cells[1:]]


def _text_fields(fields: Fields) -> list[str]:
    width = max((len(k) for k, _ in fields.items), default=0)
    return [f"{k.ljust(width)}  {_text_cell(v)}".rstrip() for k, v in fields.items]


def to_text(document: Document) -> str:
    """An aligned plain-text rendering for terminals."""
    lines = [document.title, "=" * len(document.title)] if document.title else []
    for section in document.sections:
        lines += ["", section.title] if section.title else [""]
        body = section.body
        lines += _text_table(body) if isinstance(body, Table) else _text_fields(body)
    return "\n".join(lines).lstrip("\n") + "\n"


# -- markdown -------------------------------------------------------------------------------


def _md_cell(cell: Cell) -> str:
    if isinstance(cell, Math):
        inner = f"`{cell.text}`"
        text = f"{cell.wrap}({inner})" if cell.wrap else inner
    else:
        text = cell
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(document: Document) -> str:
    """GitHub-flavoured markdown: a heading per section, tables as pipe tables."""
    lines = [f"## {document.title}"] if document.title else []
    for section in document.sections:
        lines += ["", f"### {section.title}", ""] if section.title else [""]
        body = section.body
        if isinstance(body, Table):
            align = ["---:" if i in body.numeric else "---" for i in range(len(body.headers))]
            lines.append("| " + " | ".join(body.headers) + " |")
            lines.append("| " + " | ".join(align) + " |")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body.rows]
        else:
            lines += [f"- **{k}**: {_md_cell(v)}" for k, v in body.items]
    return "\n".join(lines).lstrip("\n") + "\n"


# -- LaTeX ----------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_WRAP = {"Θ": r"\Theta", "O": "O", "Ω": r"\Omega"}


def latex_escape(text: str) -> str:
    """Text safe to put in a LaTeX document outside math mode."""
    escaped = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)
    return escaped.replace("Θ", r"$\Theta$").replace("≈", r"$\approx$")


def _latex_cell(cell: Cell) -> str:
    if isinstance(cell, Math):
        wrap = _LATEX_WRAP.get(cell.wrap, cell.wrap)
        return f"${wrap}\\left({cell.latex}\\right)$" if wrap else f"${cell.latex}$"
    return latex_escape(cell)


def _latex_tabular(headers: Sequence[str], rows: Sequence[Sequence[Cell]], spec: str) -> list[str]:
    lines = [f"\\begin{{tabular}}{{{spec}}}", r"\hline"]
    if headers:
        lines += [" & ".join(latex_escape(h) for h in headers) + r" \\", r"\hline"]
    lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in rows]
    return lines + [r"\hline", r"\end{tabular}"]


def to_latex(document: Document) -> str:
    """LaTeX ``tabular`` environments (one per section), bounds in math mode."""
    lines = [f"% {document.title}"] if document.title else []
    for section in document.sections:
        lines += ["", f"% {section.title}"] if section.title else [""]
        body = section.body
        if isinstance(body, Table):
            spec = "".join("r" if i in body.numeric else "l" for i in range(len(body.headers)))
            lines += _latex_tabular(body.headers, body.rows, spec)
        else:
            lines += _latex_tabular((), body.items, "ll")
    return "\n".join(lines).lstrip("\n") + "\n"


WRITERS = {"table": to_text, "markdown": to_markdown, "latex": to_latex}

#: The output formats of the commands: the writers above, and json.
FORMATS = ("table", "json", "markdown", "latex")
