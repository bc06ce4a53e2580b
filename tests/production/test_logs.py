"""The JSON log formatter, record by record."""

import json
import logging
import sys

import pytest
from django.test import RequestFactory

from futureforward.logs import JsonFormatter, log_format

# No queries here; the suite-wide fixture clearing the (database) cache needs the mark.
pytestmark = pytest.mark.django_db


def record(name="futureforward", msg="hello", args=(), **extra):
    rec = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def formatted(rec) -> dict:
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    return json.loads(line)


def test_a_record_is_one_line_with_time_level_logger_and_message():
    entry = formatted(record(msg="%s new subscribers", args=(3,)))
    assert entry["message"] == "3 new subscribers"
    assert entry["level"] == "WARNING" and entry["logger"] == "futureforward"
    assert entry["time"].endswith("+00:00")


def test_extra_values_become_keys_and_odd_ones_become_strings():
    entry = formatted(record(post_id=12, recipients=["a@example.com"], when=object()))
    assert entry["post_id"] == 12
    assert entry["recipients"] == ["a@example.com"]
    assert entry["when"].startswith("<object object")


def test_a_traceback_stays_inside_the_one_line():
    try:
        raise ValueError("bad input\non two lines")
    except ValueError:
        rec = record()
        rec.exc_info = sys.exc_info()
    entry = formatted(rec)
    assert entry["exception"].startswith("Traceback")
    assert "ValueError: bad input\non two lines" in entry["exception"]


def test_django_request_records_name_the_request_not_dump_it():
    request = RequestFactory().post("/subscribe/")
    entry = formatted(
        record(name="django.request", msg="Internal Server Error", request=request, status_code=500)
    )
    assert entry["method"] == "POST" and entry["path"] == "/subscribe/"
    assert entry["status_code"] == 500
    assert "request" not in entry


def test_gunicorn_access_entries_become_fields():
    atoms = {
        "h": "127.0.0.1",
        "m": "GET",
        "U": "/p/hello/",
        "q": "page=2",
        "s": "200",
        "B": 5120,
        "D": 12345,
        "a": "Mozilla/5.0",
        "f": "-",
        "H": "HTTP/1.1",
        "{x-request-id}i": "abc-123",
    }
    entry = formatted(record(name="gunicorn.access", msg="%(r)s", args=(atoms,)))
    assert entry["message"] == "GET /p/hello/ 200"
    assert entry["method"] == "GET" and entry["path"] == "/p/hello/" and entry["query"] == "page=2"
    assert entry["status"] == 200 and entry["bytes"] == 5120 and entry["duration_ms"] == 12.345
    assert entry["request_id"] == "abc-123" and entry["user_agent"] == "Mozilla/5.0"
    assert "referer" not in entry  # "-" means absent


def test_log_format_follows_debug_unless_chosen(monkeypatch):
    monkeypatch.delenv("DJANGO_LOG_FORMAT", raising=False)
    monkeypatch.setenv("DJANGO_DEBUG", "false")
    assert log_format() == "json"
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    assert log_format() == "text"
    monkeypatch.delenv("DJANGO_DEBUG")
    assert log_format() == "text"
    monkeypatch.setenv("DJANGO_LOG_FORMAT", "json")
    assert log_format() == "json"


def test_python_warnings_become_json_log_lines():
    from tests.production.procs import production_env, run_python

    result = run_python(
        "import django, warnings; django.setup(); warnings.warn('library says hello')",
        env=production_env(),
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "library says hello" in line]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["logger"] == "py.warnings" and entry["level"] == "WARNING"
    assert "library says hello" not in result.stderr
