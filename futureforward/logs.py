"""Log output: one JSON object per line in production, readable text in development.

Log collectors (journald, Docker, Kubernetes, a PaaS) read stdout line by line; a traceback spread
over thirty lines arrives as thirty unrelated messages. In JSON mode every record, the traceback
included, is one line. The same formatter renders gunicorn's access log, so web requests, task
runs and errors all land in one searchable stream.

This module imports nothing from Django: gunicorn's config file loads it before Django starts.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
from collections.abc import Mapping
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None)).keys()
) | {"message", "asctime", "taskName"}


def log_format() -> str:
    """Return "json" or "text": DJANGO_LOG_FORMAT, else JSON unless DJANGO_DEBUG is on."""
    chosen = os.environ.get("DJANGO_LOG_FORMAT", "").strip().lower()
    if chosen in {"json", "text"}:
        return chosen
    debug = os.environ.get("DJANGO_DEBUG", "").strip().lower()
    # The same default as settings.DEBUG: on unless switched off.
    return "text" if debug in {"", "1", "true", "yes", "on"} else "json"


def _plain(value):
    """Return value if json can write it, else its str()."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


def _access_fields(atoms: Mapping) -> dict:
    """Fields of one gunicorn access-log entry (its `atoms`, see gunicorn's glogging)."""

    def atom(key):
        value = atoms.get(key)
        return None if value in (None, "-", "") else value

    status = atom("s")
    sent = atoms.get("B")
    return {
        "method": atom("m"),
        "path": atom("U"),
        "query": atom("q"),
        "status": int(status) if status and str(status).isdigit() else status,
        "bytes": sent if isinstance(sent, int) else None,
        "duration_ms": round(atoms.get("D", 0) / 1000, 3) if atoms.get("D") else 0,
        "remote_addr": atom("h"),
        "forwarded_for": atom("{x-forwarded-for}i"),
        "request_id": atom("{x-request-id}i"),
        "user_agent": atom("a"),
        "referer": atom("f"),
        "protocol": atom("H"),
    }


class JsonFormatter(logging.Formatter):
    """Format each record as one line of JSON.

    Keys: time (UTC, ISO 8601), level, logger, message, process; any `extra=` values; for
    Django's request log the method, path and status; for gunicorn's access log the request's
    fields; `exception` holds a traceback as one string.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            fields = _access_fields(record.args)
            entry["message"] = f"{fields['method']} {fields['path']} {fields['status']}"
            entry.update({key: value for key, value in fields.items() if value is not None})
        else:
            entry["message"] = record.getMessage()
        entry["process"] = record.process

        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            # django.request and django.security records carry the HttpRequest itself.
            entry["method"] = request.method
            entry["path"] = getattr(request, "path", None)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry and key != "request":
                entry[key] = _plain(value)

        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure(config: dict) -> None:
    """Django's LOGGING_CONFIG: apply the settings, then route Python warnings through logging.

    Django 5.2 no longer does the latter, so a library's warning would reach stderr as loose
    lines of text instead of one JSON object.
    """
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
