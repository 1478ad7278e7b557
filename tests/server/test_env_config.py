"""``serve`` settings from ``AALPS_<FLAG>`` variables: flag over variable over default.

The variable names are written out by hand here (the oracle), not derived by the code under
test; every flag is checked to read its variable, and ``--help`` to name it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from aalps.server.command import (
    FLAGS,
    LOG_FLAGS,
    Flag,
    add_arguments,
    config_from_args,
    log_settings,
)

from tests.server.conftest import ROOT


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_flag_over_variable_over_default() -> None:
    environ = {"AALPS_PORT": "6001", "AALPS_STORAGE": "sqlite:///env.db"}
    assert config_from_args(_args(), {}).port == 50051
    assert config_from_args(_args(), environ).port == 6001
    config = config_from_args(_args("--port", "7001"), environ)
    assert (config.port, config.storage) == (7001, "sqlite:///env.db")
    assert config_from_args(_args(), {"AALPS_MAX_SEARCH_SECONDS": "5"}).max_search_seconds == 5.0
    assert config_from_args(_args(), {"AALPS_PORT": "  "}).port == 50051  # blank: unset
    assert log_settings(_args(), {}) == ("INFO", "text")
    assert log_settings(_args("--log-level", "debug"), {"AALPS_LOG_FORMAT": "json"}) == (
        "DEBUG",
        "json",
    )


#: A value for each kind of flag, and what the config should hold for it.
SAMPLES = {int: ("7", 7), float: ("7.5", 7.5), str: ("some-value", "some-value")}
#: Flags that need a companion to make a valid config.
COMPANIONS = {
    "tls_cert": {"AALPS_TLS_KEY": "k.pem"},
    "tls_key": {"AALPS_TLS_CERT": "c.pem"},
    "tls_client_ca": {"AALPS_TLS_CERT": "c.pem", "AALPS_TLS_KEY": "k.pem"},
}
#: Variable names by hand (the oracle) for the flags the issue names, and a few others.
NAMED = {
    "--storage": "AALPS_STORAGE",
    "--port": "AALPS_PORT",
    "--max-search-seconds": "AALPS_MAX_SEARCH_SECONDS",
    "--tls-client-ca": "AALPS_TLS_CLIENT_CA",
    "--metrics-port": "AALPS_METRICS_PORT",
    "--log-format": "AALPS_LOG_FORMAT",
}


@pytest.mark.parametrize("spec", FLAGS, ids=[spec.flag for spec in FLAGS])
def test_every_flag_reads_its_variable(spec: Flag) -> None:
    assert spec.env == "AALPS_" + spec.flag[2:].upper().replace("-", "_")
    raw, expected = SAMPLES[spec.kind]
    if spec.dest == "storage":
        raw = expected = "sqlite:///from-env.db"
    environ = {spec.env: raw, **COMPANIONS.get(spec.dest, {})}
    assert getattr(config_from_args(_args(), environ), spec.dest) == expected


def test_help_shows_each_default_and_variable() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = " ".join(parser.format_help().split())
    for spec in (*FLAGS, *LOG_FLAGS):
        assert f"[env {spec.env}]" in text, spec.flag
    for flag, env in NAMED.items():
        assert f"[env {env}]" in text, flag
    assert "(default 50051) [env AALPS_PORT]" in text
    assert "(default sqlite:///aalps.db) [env AALPS_STORAGE]" in text
    assert "(default 300) [env AALPS_MAX_SEARCH_SECONDS]" in text
    assert "(default text) [env AALPS_LOG_FORMAT]" in text


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"AALPS_PORT": "abc"}, "AALPS_PORT='abc': not a number"),
        ({"AALPS_PORT": "70000"}, "AALPS_PORT: port must be in 0..65535, got 70000"),
        ({"AALPS_WORKERS": "0"}, "AALPS_WORKERS: workers and batch_workers must be at least 1"),
        ({"AALPS_LOG_FORMAT": "xml"}, "AALPS_LOG_FORMAT='xml': must be one of text, json"),
        ({"AALPS_MAX_SEARCH_SECONDS": "soon"}, "AALPS_MAX_SEARCH_SECONDS='soon': not a number"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(environ: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aalps", "serve"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: serve: {message}\n"


def test_a_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(ValueError, match=r"^--port: port must be in 0\.\.65535"):
        config_from_args(_args("--port", "70000"), {"AALPS_PORT": "1"})
