"""The progress bar (drawn only on terminals) and the ``serve`` flags -> ServerConfig."""

from __future__ import annotations

import io

import pytest
from aalps.client.cli import build_parser
from aalps.client.commands.serve import config_from_args
from aalps.client.errors import InvalidArgumentError
from aalps.client.progress import ProgressBar


def _drawn(stream: io.StringIO) -> list[str]:
    """Every line the bar drew (each redraw starts with CR and erase-line)."""
    return [s for s in stream.getvalue().split("\r\x1b[K") if s]


def test_bar_draws_counts_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    stream = io.StringIO()
    with ProgressBar("optimize", stream=stream, enabled=True) as bar:
        bar.update(5, 10, "best 42")
        bar.println("a line of output", stream=(out := io.StringIO()))
    text = stream.getvalue()
    line = next(s for s in _drawn(stream) if "5/10" in s)
    # 5 of 10: half of the bar's 24 inner columns filled
    assert line == "optimize  |" + "█" * 12 + " " * 12 + "|  5/10 trials  best 42  00:00"
    assert text.endswith("\r\x1b[K")
    assert out.getvalue() == "a line of output\n"


@pytest.mark.parametrize("columns", [40, 24, 12])
def test_a_narrow_terminal_never_gets_a_wrapped_line(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """Issue 13: at COLUMNS=40 every redraw fits in 40 columns (no new row per redraw)."""
    from tqdm.utils import disp_len

    monkeypatch.setenv("COLUMNS", str(columns))
    stream = io.StringIO()
    with ProgressBar("optimize code_debugging.yaml", stream=stream, enabled=True) as bar:
        for done in (0, 1, 99, 150, 200):
            bar.update(done, 200, "best 1.2345e+17")
        bar.update(12345, 0, "best 3")  # total unknown: a spinner
    lines = _drawn(stream)
    assert len(lines) >= 7
    assert max(disp_len(line) for line in lines) <= columns
    assert all("\n" not in line for line in lines)
    counts = [line for line in lines if "/200" in line]
    assert len(counts) == 5  # the counts survive every width (trimmed at the very narrowest)
    if columns == 40:
        assert "best 1.2345e+17" in counts[-1]  # the note outlives the label and the clock


def test_bar_is_silent_off_a_terminal() -> None:
    stream = io.StringIO()  # not a tty
    with ProgressBar("batch", stream=stream) as bar:
        assert not bar.enabled
        bar.update(1, 2)
    assert stream.getvalue() == ""


def test_serve_flags_become_a_config(tmp_path: object) -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--port",
            "0",
            "--storage",
            "sqlite:///x.db",
            "--workers",
            "3",
            "--max-trials",
            "500",
            "--auth-token-env",
            "TOKENS",
        ]
    )
    config = config_from_args(args)
    assert (config.port, config.storage, config.workers) == (0, "sqlite:///x.db", 3)
    assert config.max_trials == 500 and config.auth_token_env == "TOKENS"
    assert config.auth_token_file is None and config.grace_seconds == 10.0


def test_serve_rejects_a_bad_port() -> None:
    args = build_parser().parse_args(["serve", "--port", "70000"])
    with pytest.raises(InvalidArgumentError, match="port"):
        config_from_args(args)
