"""Server settings: one frozen record, built from defaults, the command line or a test.

The record holds plain values only (no open files, no secrets read at import time):
``make_server`` resolves the storage URL and the bearer tokens when it starts, so a
config can be built, compared and printed freely.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from aalps.server.limits import (
    DEFAULT_MAX_ACTIVE_JOBS,
    DEFAULT_MAX_JOB_SECONDS,
    DEFAULT_MAX_SEARCH_SECONDS,
    DEFAULT_MAX_TRIAL_TASKS,
    DEFAULT_SMALL_JOB_SIZE,
    DEFAULT_VALIDATION_SECONDS,
    DEFAULT_VALIDATION_WORKERS,
    Limits,
)
from aalps.server.tls import TlsFiles

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_MAX_MODELS",
    "DEFAULT_MAX_TASKS",
    "DEFAULT_MAX_TRIALS",
    "DEFAULT_STORAGE",
    "ServerConfig",
    "parse_tokens",
    "storage_url",
]

#: Default storage: an SQLite file in the working directory (embedded, zero set-up).
DEFAULT_STORAGE = "sqlite:///aalps.db"
#: Large enough that an oversized request (10^6 tasks) reaches validation and is
#: rejected with INVALID_ARGUMENT naming the field, not RESOURCE_EXHAUSTED by transport.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Trials one request may ask for (``search.n_trials``).
DEFAULT_MAX_TRIALS = 100_000
#: Tasks and models of one request: the domain loader's caps (``aalps.cost_models.loading``),
#: repeated here so that reading a config does not import sympy (a test keeps them equal).
DEFAULT_MAX_TASKS = 5000
DEFAULT_MAX_MODELS = 500


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Everything ``make_server`` needs.

    Attributes
    ----------
    host
        Interface to listen on.
    port
        TCP port; 0 picks a free one (read it back from ``AalpsServer.port``).
    storage
        SQLAlchemy URL of the job store and the Optuna studies. ``postgresql://``
        and ``postgres://`` are mapped to the psycopg 3 driver.
    workers
        Size of the process pool that runs searches (jobs, Optimize, batches).
    batch_workers
        Requests of one BatchOptimize call in flight at once.
    max_message_bytes
        Largest request or response message accepted.
    max_tasks, max_models, max_trials
        Caps on one request, checked before any work.
    max_trial_tasks
        Cap on ``search.n_trials`` times the number of tasks.
    validation_workers
        Processes that load and validate requests before any search
        process is used.
    validation_seconds
        Time limit of one request's validation; past it the
        validation process is killed and the call fails with INVALID_ARGUMENT.
    max_search_seconds
        Longest search call when the client sets no deadline (or a
        later one); past it, DEADLINE_EXCEEDED with the best plan found so far.
    max_job_seconds
        Longest search of one job attempt; past it the job FAILS with
        DEADLINE_EXCEEDED and keeps the best plan found as its result.
    max_active_jobs
        PENDING and RUNNING jobs per owner; beyond it SubmitJob fails
        with RESOURCE_EXHAUSTED.
    small_job_size
        Jobs of at most this many trials x tasks may also run in the one
        job slot that long jobs never take, so they are not starved.
    auth_token_file
        A file of bearer tokens (``name: token`` per line, or bare
        tokens); None with ``auth_token_env`` None disables auth.
    auth_token_env
        The name of an environment variable holding tokens in the same
        format (lines or commas).
    grace_seconds
        On shutdown, how long running RPCs and jobs may take to finish.
    table_prefix
        Prefix of the job table's name (tests use a unique one).
    lease_seconds
        How long a replica's claim on a job holds without renewal (renewed every
        third of it): a dead replica's jobs are taken over about this long after it died.
    claim_poll_seconds
        How often a replica looks for claimable jobs (PENDING, or leases expired).
    metrics_port
        Port of the Prometheus endpoint (``GET /metrics`` on ``host``); None: none, 0 picks
        a free one (read it back from ``AalpsServer.metrics_port``).
    tls_cert, tls_key
        PEM certificate chain and private key: the port speaks TLS. Both or neither.
    tls_client_ca
        PEM CA certificates: clients must present a certificate it signed (mTLS).
    """

    host: str = "127.0.0.1"
    port: int = 0
    storage: str = DEFAULT_STORAGE
    workers: int = 2
    batch_workers: int = 4
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_tasks: int = DEFAULT_MAX_TASKS
    max_models: int = DEFAULT_MAX_MODELS
    max_trials: int = DEFAULT_MAX_TRIALS
    max_trial_tasks: int = DEFAULT_MAX_TRIAL_TASKS
    validation_workers: int = DEFAULT_VALIDATION_WORKERS
    validation_seconds: float = DEFAULT_VALIDATION_SECONDS
    max_search_seconds: float = DEFAULT_MAX_SEARCH_SECONDS
    max_job_seconds: float = DEFAULT_MAX_JOB_SECONDS
    max_active_jobs: int = DEFAULT_MAX_ACTIVE_JOBS
    small_job_size: int = DEFAULT_SMALL_JOB_SIZE
    auth_token_file: str | None = None
    auth_token_env: str | None = None
    grace_seconds: float = 10.0
    table_prefix: str = "aalps_"
    lease_seconds: float = 10.0
    claim_poll_seconds: float = 2.0
    metrics_port: int | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1 or self.batch_workers < 1:
            raise ValueError("workers and batch_workers must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        if min(self.max_tasks, self.max_models, self.max_trials) < 1:
            raise ValueError("max_tasks, max_models and max_trials must be at least 1")
        if self.grace_seconds < 0:
            raise ValueError("grace_seconds must be >= 0")
        if min(self.max_trial_tasks, self.validation_workers, self.max_active_jobs) < 1:
            raise ValueError("max_trial_tasks, validation_workers, max_active_jobs must be >= 1")
        if min(self.validation_seconds, self.max_search_seconds, self.max_job_seconds) <= 0:
            raise ValueError("validation, search and job time limits must be positive")
        if self.small_job_size < 0:
            raise ValueError("small_job_size must be >= 0")
        if self.lease_seconds <= 0 or self.claim_poll_seconds <= 0:
            raise ValueError("lease_seconds and claim_poll_seconds must be positive")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics_port must be in 0..65535, got {self.metrics_port}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("tls_client_ca needs tls_cert and tls_key (mTLS is TLS first)")

    @property
    def tls(self) -> TlsFiles | None:
        """The TLS files of the port; None for a plaintext port."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        return TlsFiles(self.tls_cert, self.tls_key, self.tls_client_ca)

    @property
    def limits(self) -> Limits:
        """The limits the service applies to each request and job."""
        return Limits(
            max_tasks=self.max_tasks,
            max_models=self.max_models,
            max_trials=self.max_trials,
            max_trial_tasks=self.max_trial_tasks,
            validation_seconds=self.validation_seconds,
            max_search_seconds=self.max_search_seconds,
            max_job_seconds=self.max_job_seconds,
            max_active_jobs=self.max_active_jobs,
            small_job_size=self.small_job_size,
        )

    @property
    def storage_url(self) -> str:
        """The storage URL with the driver SQLAlchemy should use."""
        return storage_url(self.storage)

    @property
    def auth_enabled(self) -> bool:
        return self.auth_token_file is not None or self.auth_token_env is not None

    def tokens(self) -> Mapping[str, str]:
        """Bearer token -> caller name, read from the file and/or the variable now."""
        tokens: dict[str, str] = {}
        if self.auth_token_file is not None:
            with open(self.auth_token_file, encoding="utf-8") as handle:
                tokens.update(parse_tokens(handle.read()))
        if self.auth_token_env is not None:
            value = os.environ.get(self.auth_token_env)
            if value is None:
                raise ValueError(f"environment variable {self.auth_token_env} is not set")
            tokens.update(parse_tokens(value.replace(",", "\n")))
        if self.auth_enabled and not tokens:
            raise ValueError("auth is enabled but no token was configured")
        return tokens


def storage_url(url: str) -> str:
    """Map ``postgresql://`` and ``postgres://`` to SQLAlchemy's psycopg 3 dialect."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def parse_tokens(text: str) -> dict[str, str]:
    """Parse ``name: token`` lines and bare tokens (``#`` starts a comment).

    A bare token's caller name is a digest of it, so that job owners stored in the
    database never reveal a secret.

    Examples
    --------
    >>> parse_tokens("alice: s3cret\\n# a comment\\n")
    {'s3cret': 'alice'}
    """
    tokens: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, token = line.partition(":")
        if sep:
            name, token = name.strip(), token.strip()
        else:
            token = line
            name = "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]
        if not token or not name:
            raise ValueError(f"malformed token line {raw!r}: expected 'name: token'")
        tokens[token] = name
    return tokens
