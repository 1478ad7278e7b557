"""The server's log lines: ``text`` for people, ``json`` (one object a line) for collectors.

A record's structured ``fields`` (the access log's method, code, duration...) become keys of
the JSON object. Secrets stay out of the log: :func:`masked_url` hides a storage URL's
password before the start-up line prints it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

__all__ = ["LOG_FORMATS", "JsonFormatter", "configure_logging", "masked_url"]

LOG_FORMATS = ("text", "json")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: ``scheme://user:password@`` -> the password part; the user stays visible.
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][\w+.-]*://[^:/@?#]*:)(?P<secret>[^@/?#]*)@")
#: Query parameters that carry secrets in driver URLs (``?password=...``).
_QUERY_SECRET = re.compile(r"(?P<key>[?&](?:password|sslpassword)=)[^&#]*", re.IGNORECASE)


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***``.

    Examples
    --------
    >>> masked_url("postgresql://aalps:s3cret@db:5432/aalps")
    'postgresql://aalps:***@db:5432/aalps'
    >>> masked_url("sqlite:///aalps.db")
    'sqlite:///aalps.db'
    """
    url = _PASSWORD.sub(r"\g<head>***@", url, count=1)
    return _QUERY_SECRET.sub(r"\g<key>***", url)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Send the process's logs to stderr in ``log_format`` at ``level``.

    Raises
    ------
    ValueError
        an unknown level or format.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
