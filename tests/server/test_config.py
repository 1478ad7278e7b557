"""ServerConfig: storage URLs, token files and variables, and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalps.server.__main__ import parse_args
from aalps.server.auth import TokenAuth
from aalps.server.config import ServerConfig, parse_tokens, storage_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///aalps.db", "sqlite:///aalps.db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_storage_urls_use_psycopg(given: str, expected: str) -> None:
    assert storage_url(given) == expected
    assert ServerConfig(storage=given).storage_url == expected


def test_defaults() -> None:
    from aalps.cost_models.loading import MAX_MODELS, MAX_TASKS

    config = ServerConfig()
    assert (config.max_tasks, config.max_models) == (MAX_TASKS, MAX_MODELS)
    assert (config.host, config.port, config.workers, config.batch_workers) == (
        "127.0.0.1",
        0,
        2,
        4,
    )
    assert config.storage == "sqlite:///aalps.db"
    assert config.max_message_bytes == 64 * 1024 * 1024
    assert not config.auth_enabled and config.tokens() == {}


@pytest.mark.parametrize(
    "kwargs", [{"workers": 0}, {"port": 70000}, {"max_tasks": 0}, {"grace_seconds": -1}]
)
def test_bad_settings_are_rejected(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ServerConfig(**kwargs)  # type: ignore[arg-type]


def test_token_lines_and_bare_tokens() -> None:
    tokens = parse_tokens("alice: a1  # comment\n\n  bob:b2\nbare-token\n")
    assert tokens["a1"] == "alice" and tokens["b2"] == "bob"
    assert tokens["bare-token"].startswith("token-") and "bare" not in tokens["bare-token"]
    with pytest.raises(ValueError):
        parse_tokens("alice:\n")


def test_tokens_from_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens"
    path.write_text("alice: a1\n", encoding="utf-8")
    monkeypatch.setenv("AALPS_TOKENS", "bob: b2, carol: c3")
    config = ServerConfig(auth_token_file=str(path), auth_token_env="AALPS_TOKENS")
    assert config.tokens() == {"a1": "alice", "b2": "bob", "c3": "carol"}
    with pytest.raises(ValueError):
        ServerConfig(auth_token_env="AALPS_NOT_SET").tokens()


def test_identify_reads_bearer_metadata() -> None:
    auth = TokenAuth({"s3cret": "alice"})
    assert auth.identify((("authorization", "Bearer s3cret"),)) == "alice"
    assert auth.identify((("Authorization", "bearer s3cret"),)) == "alice"
    assert auth.identify((("authorization", "Basic s3cret"),)) is None
    assert auth.identify((("authorization", "Bearer other"),)) is None
    assert auth.identify(None) is None
    assert TokenAuth({}).identify(None) == ""


def test_command_line() -> None:
    config = parse_args(
        [
            "--port",
            "5000",
            "--storage",
            "postgresql://p@h/db",
            "--workers",
            "3",
            "--log-level",
            "warning",
        ]
    )
    assert (config.port, config.workers) == (5000, 3)
    assert config.storage_url == "postgresql+psycopg://p@h/db"
