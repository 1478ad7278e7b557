"""The progress bar (drawn only on terminals) and the ``serve`` flags -> ServerConfig."""

from __future__ import annotations

import io

import pytest
from aalps.client.cli import build_parser
from aalps.client.commands.serve import config_from_args
from aalps.client.errors import InvalidArgumentError
from aalps.client.progress import ProgressBar


def test_bar_draws_counts_and_clears() -> None:
    stream = io.StringIO()
    with ProgressBar("optimize", stream=stream, enabled=True) as bar:
        bar.update(5, 10, "best 42")
        bar.println("a line of output", stream=(out := io.StringIO()))
    text = stream.getvalue()
    assert "optimize  [============>" in text and "5/10 trials  best 42" in text
    assert text.endswith("\r\x1b[K")
    assert out.getvalue() == "a line of output\n"


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
