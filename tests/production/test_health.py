"""/healthz and /readyz, and uploads served from local disk with DEBUG off."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from futureforward import health
from tests.production.procs import Gunicorn, get, production_env

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_migration_check():
    health.forget_migration_check()
    yield
    health.forget_migration_check()


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_reports_database_migrations_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    }
    assert response["Cache-Control"] == "no-store"


def test_readyz_checks_migrations_once_per_process(client, django_assert_num_queries):
    client.get("/readyz")
    # Afterwards only the database ping and the cache read remain.
    with django_assert_num_queries(2):
        assert client.get("/readyz").status_code == HTTPStatus.OK


def test_unapplied_migrations_lists_what_the_database_lacks():
    assert health.unapplied_migrations(connection) == []
    latest = MigrationRecorder.Migration.objects.filter(app="accounts").latest("id")
    # Forget the newest accounts migration was applied, as on a database a deploy has not
    # migrated yet; the test's transaction is rolled back afterwards.
    latest.delete()
    assert health.unapplied_migrations(connection) == [f"accounts.{latest.name}"]


def test_readyz_is_503_while_migrations_are_unapplied(client):
    MigrationRecorder.Migration.objects.filter(app="posts").latest("id").delete()
    response = client.get("/readyz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["migrations"] == "1 unapplied"


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_when_the_cache_table_is_missing(client):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "ff_cache_never_created",
        }
    }
    with override_settings(CACHES=caches):
        response = client.get("/readyz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    checks = response.json()["checks"]
    assert checks == {"database": "ok", "migrations": "ok", "cache": "unavailable"}


@override_settings(ALLOWED_HOSTS=["futureforward.example"], SECURE_SSL_REDIRECT=True)
def test_health_answers_probes_by_ip_over_plain_http(client):
    # Orchestrators probe a bare IP over plain HTTP; the site itself refuses both.
    assert client.get("/", HTTP_HOST="10.1.2.3").status_code == HTTPStatus.BAD_REQUEST
    assert client.get("/healthz", HTTP_HOST="10.1.2.3").status_code == HTTPStatus.OK
    assert client.get("/healthz/", HTTP_HOST="10.1.2.3").status_code == HTTPStatus.OK


def test_health_paths_answer_only_reads(client):
    # A POST falls through to the site, which has no such page.
    assert client.post("/healthz").status_code == HTTPStatus.NOT_FOUND


# --- Probes against a real server whose database is down ---


def test_a_server_without_its_database_is_alive_but_not_ready(production_dirs, tmp_path):
    env = production_env(
        **production_dirs,
        DATABASE_URL=f"postgresql://postgres@/futureforward?host={tmp_path}",
        DJANGO_DB_CONNECT_RETRY="0",
        DJANGO_SECURE_SSL_REDIRECT="false",
    )
    server = Gunicorn("no-database", env, tmp_path, workers=1)
    try:
        server.wait_until_up()
        ready = get(server.port, "/readyz")
        assert ready.status == HTTPStatus.SERVICE_UNAVAILABLE
        assert '"database": "unavailable"' in ready.text
        assert get(server.port, "/healthz").status == HTTPStatus.OK
    finally:
        server.stop()


# --- Uploads from local disk ---


@override_settings(DEBUG=False)
def test_uploads_are_served_from_local_disk_with_debug_off(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "covers").mkdir()
    (tmp_path / "covers" / "dawn.png").write_bytes(b"\x89PNG fake")
    response = client.get("/media/covers/dawn.png")
    assert response.status_code == HTTPStatus.OK
    assert b"".join(response.streaming_content) == b"\x89PNG fake"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert client.get("/media/covers/missing.png").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/media/../settings.py").status_code == HTTPStatus.BAD_REQUEST
    assert client.post("/media/covers/dawn.png").status_code == HTTPStatus.METHOD_NOT_ALLOWED
