"""The document writers: aligned text, GitHub markdown, LaTeX with bounds in math mode."""

from __future__ import annotations

from aalps.client.document import Document, Fields, Math, Section, Table, latex_escape
from aalps.client.render import number, write

DOC = Document(
    "routing_demo: plan",
    (
        Section(
            "Totals",
            Table(
                ("plan", "expected cost", "bound"),
                (
                    ("plan", "1,600", Math("m_s*n", "m_{s} n", "Θ")),
                    ("base_line", "1.6e+18", Math("k*m_s*n", "k m_{s} n", "Θ")),
                ),
                frozenset({1}),
            ),
        ),
        Section("Separation", Fields((("whole plan", Math("k", "k", "Θ")),))),
    ),
)


def test_text_is_aligned() -> None:
    lines = write(DOC, "table").splitlines()
    assert lines[0] == "routing_demo: plan"
    header, rule, plan, baseline = lines[4:8]
    assert header.index("expected cost") == rule.index("-------------")
    assert plan.index("1,600") + len("1,600") == baseline.index("1.6e+18") + len("1.6e+18")
    assert plan.endswith("Θ(m_s*n)") and baseline.endswith("Θ(k*m_s*n)")
    assert "whole plan  Θ(k)" in lines


def test_markdown_tables() -> None:
    text = write(DOC, "markdown")
    assert "| plan | expected cost | bound |" in text
    assert "| --- | ---: | --- |" in text
    assert "| plan | 1,600 | Θ(`m_s*n`) |" in text
    assert "- **whole plan**: Θ(`k`)" in text


def test_latex_math_and_escapes() -> None:
    text = write(DOC, "latex")
    assert r"\begin{tabular}{lrl}" in text
    assert r"plan & 1,600 & $\Theta\left(m_{s} n\right)$ \\" in text
    assert r"base\_line & 1.6e+18" in text
    assert text.startswith("% routing_demo: plan")
    assert latex_escape("50% & $x_1#") == r"50\% \& \$x\_1\#"


def test_numbers_stay_readable() -> None:
    assert number(0) == "0"
    assert number(0.5) == "0.5"
    assert number(1600) == "1,600"
    assert number(1.6e18) == "1.6e+18"
