"""/healthz and /readyz, the pages readers get while the database is away, and uploads served
from local disk with DEBUG off."""

import contextlib
import tempfile
import threading
import time
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from futureforward import health, liveness
from tests.factories import PostFactory, ensure_default_newsletter
from tests.production.procs import Gunicorn, free_port, get, production_env, wait_until

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


class HideableDatabase:
    """The test database, reached through a socket folder of its own: hide() takes the socket
    away (new connections fail as if PostgreSQL were stopped), show() puts it back."""

    def __init__(self):
        db = settings.DATABASES["default"]
        # Short path: Unix sockets allow ~107 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="ffsock"))
        self.socket = self.folder / f".s.PGSQL.{db['PORT']}"
        self.target = Path(db["HOST"]) / self.socket.name
        self.url = f"postgresql://postgres@/{db['NAME']}?host={self.folder}&port={db['PORT']}"
        self.show()

    def show(self) -> None:
        if not self.socket.is_symlink():
            self.socket.symlink_to(self.target)

    def hide(self) -> None:
        self.socket.unlink(missing_ok=True)

    def remove(self) -> None:
        for path in self.folder.iterdir():
            path.unlink()
        self.folder.rmdir()


@contextlib.contextmanager
def server_on_hideable_database(name, production_dirs, tmp_path, workers=2, **env):
    database = HideableDatabase()
    settings_ = {
        "DATABASE_URL": database.url,
        # A connection per request, so hiding the socket reaches the very next request.
        "DJANGO_CONN_MAX_AGE": "0",
        # Most of these tests are about requests that need the database. With the page version
        # numbers pushed to the process, a cached anonymous page needs none and is served
        # through an outage that leaves the listener's own connection open (hiding the socket
        # does); test_cached_pages_are_served_while_only_new_connections_are_refused turns it on.
        "POSTS_PAGE_VERSIONS_LISTEN": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    server = Gunicorn(
        name, production_env(**production_dirs, **(settings_ | env)), tmp_path, workers=workers
    )
    try:
        server.wait_until_up()
        assert get(server.port, "/").status == HTTPStatus.OK
        yield server, database
    finally:
        server.stop()
        database.remove()


def assert_outage_page(response) -> None:
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE, response
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["cache-control"] == "no-store"
    # The styled page (the site's stylesheet and header), not a bare error.
    assert "Back in a moment" in response.text
    assert 'rel="stylesheet" href="/static/css/site.' in response.text
    assert "Server Error" not in response.text


def test_healthz_answers_while_a_page_waits_for_the_database(production_dirs, tmp_path):
    """A request that arrives as PostgreSQL goes away waits for it (a restart usually takes a
    second or two) and succeeds when it is back; liveness is answered meanwhile."""
    with server_on_hideable_database(
        "outage-wait", production_dirs, tmp_path, DJANGO_DB_CONNECT_RETRY="120"
    ) as (server, database):
        database.hide()
        held = {}
        waiting = threading.Thread(
            target=lambda: held.update(response=get(server.port, "/", timeout=180))
        )
        waiting.start()
        wait_until(
            lambda: "retrying" in server.output(),
            timeout=30,
            what="a request to wait for the database",
        )
        assert get(server.port, "/healthz", timeout=20).status == HTTPStatus.OK
        assert waiting.is_alive() and not held

        database.show()
        waiting.join(timeout=120)
        assert held["response"].status == HTTPStatus.OK  # the wait paid off
        assert get(server.port, "/").status == HTTPStatus.OK


def test_liveness_answers_while_every_worker_waits_for_the_database(production_dirs, tmp_path):
    """With HEALTH_PORT set, the gunicorn master answers /healthz on that port itself, so it
    is answered while every web worker is held by a page waiting for the database. The site's
    own /healthz, answered by a worker, queues behind those pages: that is why probes go to
    HEALTH_PORT."""
    health_port = free_port()
    with server_on_hideable_database(
        "outage-busy",
        production_dirs,
        tmp_path,
        workers=1,
        DJANGO_DB_CONNECT_RETRY="120",
        HEALTH_PORT=str(health_port),
    ) as (server, database):
        assert get(health_port, "/healthz").status == HTTPStatus.OK

        database.hide()
        answered = []  # (what, status), in the order the answers arrived
        lock = threading.Lock()

        def fetch(what, port, path):
            response = get(port, path, timeout=180)
            with lock:
                answered.append((what, response.status))

        # The one worker takes the first page and waits for the database; the second page and
        # the worker-served /healthz queue behind it.
        held = [
            threading.Thread(target=fetch, args=("page", server.port, "/")),
            threading.Thread(target=fetch, args=("page", server.port, "/archive/")),
        ]
        for thread in held:
            thread.start()
        wait_until(
            lambda: "retrying" in server.output(),
            timeout=30,
            what="the worker to wait for the database",
        )
        behind = threading.Thread(target=fetch, args=("site healthz", server.port, "/healthz"))
        behind.start()
        held.append(behind)

        fetch("liveness", health_port, "/healthz")
        fetch("liveness", health_port, "/healthz/")
        with lock:
            # Both liveness answers came while every request to the worker was still held.
            assert answered == [("liveness", HTTPStatus.OK)] * 2
        assert all(thread.is_alive() for thread in held)

        database.show()
        for thread in held:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in held)
        assert answered[:2] == [("liveness", HTTPStatus.OK)] * 2
        assert sorted(answered[2:]) == [
            ("page", HTTPStatus.OK),
            ("page", HTTPStatus.OK),
            ("site healthz", HTTPStatus.OK),
        ]
        # Only the health path is answered there.
        assert get(health_port, "/").status == HTTPStatus.NOT_FOUND


def test_liveness_listens_on_the_host_the_site_binds():
    assert liveness.host_of(["127.0.0.1:8000"]) == "127.0.0.1"
    assert liveness.host_of(["0.0.0.0:5000"]) == "0.0.0.0"  # noqa: S104 (the platform's bind)
    assert liveness.host_of(["[::]:8000"]) == "::"
    assert liveness.host_of(["unix:/run/site.sock", "10.0.0.2:80"]) == "10.0.0.2"
    assert liveness.host_of(["unix:/run/site.sock"]) == "127.0.0.1"


def test_a_database_outage_gets_quick_styled_503s_and_the_site_recovers_by_itself(
    production_dirs, tmp_path
):
    """Once a wait for the database has failed, pages are answered at once with the 503 page
    and Retry-After, not after a wait each (the old backend held every request for the whole
    retry and then answered a bare 500), /healthz stays 200, and pages come back by
    themselves when the database does."""
    with server_on_hideable_database(
        "outage-long",
        production_dirs,
        tmp_path,
        DJANGO_DB_CONNECT_RETRY="20",
        DJANGO_DB_CONNECT_PAUSE="3",
    ) as (server, database):
        database.hide()
        assert_outage_page(get(server.port, "/", timeout=120))  # the one wait, in vain
        for path in ("/", "/archive/", "/", "/search/?q=future", "/"):
            # A client timeout well under the 20 s wait: these are answered, not held.
            assert_outage_page(get(server.port, path, timeout=8))
            assert get(server.port, "/healthz", timeout=8).status == HTTPStatus.OK
        assert get(server.port, "/readyz", timeout=8).status == HTTPStatus.SERVICE_UNAVAILABLE

        database.show()
        wait_until(
            lambda: get(server.port, "/").status == HTTPStatus.OK,
            timeout=60,
            interval=0.5,
            what="pages to work again once the database is back",
        )
        assert get(server.port, "/readyz").status == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_cached_pages_are_served_while_only_new_connections_are_refused(production_dirs, tmp_path):
    """PostgreSQL refuses new connections (its socket is gone) but is up, and the listener's
    connection still answers: nothing can change while no one can write, so the pages kept
    in the cache are still right and readers get them; a page that needs the database gets
    the 503 page."""
    with server_on_hideable_database(
        "outage-cached",
        production_dirs,
        tmp_path,
        workers=1,
        POSTS_PAGE_VERSIONS_LISTEN="1",
        DJANGO_DB_CONNECT_RETRY="2",
        DJANGO_DB_CONNECT_PAUSE="1",
    ) as (server, database):
        ensure_default_newsletter()
        post = PostFactory(title="Kept through the outage")
        path = post.get_absolute_url()
        # The first pages start the worker's listener; later ones are kept in its cache.
        wait_until(
            lambda: "Kept through the outage" in get(server.port, path).text,
            timeout=30,
            what="the post page",
        )
        time.sleep(2)  # the listener connects and reads its first numbers in milliseconds
        for page in ("/", path):
            assert get(server.port, page).status == HTTPStatus.OK

        database.hide()
        for _ in range(3):
            home = get(server.port, "/", timeout=30)
            assert home.status == HTTPStatus.OK and "Kept through the outage" in home.text
            page = get(server.port, path, timeout=30)
            assert page.status == HTTPStatus.OK and "Kept through the outage" in page.text
        assert_outage_page(get(server.port, "/search/?q=outage", timeout=60))

        database.show()
        wait_until(
            lambda: get(server.port, "/search/?q=outage").status == HTTPStatus.OK,
            timeout=60,
            interval=0.5,
            what="pages that need the database to work again",
        )


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
