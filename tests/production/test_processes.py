"""The processes of a deployment, each run for real: the worker, the release step, `make serve`."""

import contextlib
import os
import secrets
import signal
import subprocess
import tempfile
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.db import connection

from tests.factories import SubscriptionFactory, welcome_due
from tests.production.procs import (
    PROJECT_DIR,
    PYTHON,
    STRONG_KEY,
    Visitor,
    Worker,
    free_port,
    get,
    production_env,
    run_python,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def test_worker_waits_for_an_unreachable_database_and_then_works(db_tasks, smtp_server, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from newsletter.tasks import send_welcome_steps

    reader = SubscriptionFactory().user
    db = settings.DATABASES["default"]
    # The worker looks for PostgreSQL's socket in an empty folder: the database is "down" until
    # the socket appears there. (Short path: Unix sockets allow ~107 bytes.)
    socket_dir = Path(tempfile.mkdtemp(prefix="ffsock"))
    env = production_env(
        DATABASE_URL=f"postgresql://postgres@/{db['NAME']}?host={socket_dir}&port={db['PORT']}",
        DJANGO_DB_CONNECT_RETRY="0",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
    )
    worker = Worker("patient-worker", env, tmp_path)
    try:
        wait_until(
            lambda: "starts again" in worker.output(), timeout=30, what="the worker to retry"
        )
        assert worker.is_running()

        socket_name = f".s.PGSQL.{db['PORT']}"
        (socket_dir / socket_name).symlink_to(Path(db["HOST"]) / socket_name)
        welcome_due(reader)
        result = send_welcome_steps.enqueue()
        wait_until(
            lambda: DBTaskResult.objects.get(id=result.id).status == "SUCCESSFUL",
            timeout=40,
            interval=0.2,
            what="the task to run once the database is back",
        )
        assert smtp_server.count_to(reader.email) == 1
        assert worker.is_running()
    finally:
        worker.stop()
        for path in socket_dir.iterdir():
            path.unlink()
        socket_dir.rmdir()


def test_two_release_steps_at_once_migrate_a_new_database_once():
    name = f"ff_release_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    db = settings.DATABASES["default"]
    url = f"postgresql://postgres@/{name}?host={db['HOST']}&port={db['PORT']}"
    try:
        releases = [
            subprocess.Popen(  # noqa: S603
                [PYTHON, "-m", "futureforward.release", "--no-static"],
                cwd=PROJECT_DIR,
                env=production_env(DATABASE_URL=url),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        outputs = [release.communicate(timeout=120) for release in releases]
        assert [release.returncode for release in releases] == [0, 0], outputs
        # One of them applied the migrations, the other found nothing left to do.
        stdout = [out for out, _ in outputs]
        assert sum("No migrations to apply." in out for out in stdout) == 1, stdout

        check = run_python(
            "import django; django.setup()\n"
            "from django.db import connection\n"
            "from django.core.cache import cache\n"
            "from futureforward.health import unapplied_migrations\n"
            "print(unapplied_migrations(connection), cache.get('nothing'))",
            production_env(DATABASE_URL=url),
        )
        assert check.stdout.strip() == "[] None", check.stderr
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_serve_runs_the_production_shape_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = production_env(
        PORT=str(port),
        WEB_CONCURRENCY="2",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        # What `make serve` must default by itself:
        DJANGO_DEBUG=None,
        DJANGO_ALLOWED_HOSTS=None,
    )
    env["DJANGO_SECRET_KEY"] = STRONG_KEY  # else it would write .local-secret-key here
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "futureforward.serve"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: serve.poll() is None and get(port, "/").status == 200,
            timeout=90,
            interval=0.3,
            what="make serve to answer",
        )
        wait_until(
            lambda: "Starting worker" in (tmp_path / "serve.log").read_text(),
            timeout=60,
            interval=0.3,
            what="the task worker beside it",
        )
        home = get(port, "/")
        assert "Server Error" not in home.text
        # Static files: hashed names (cache-busting), compressed, cached for good.
        css = home.text.split('href="/static/css/site.', 1)[1].split('"', 1)[0]
        assert len(css.split(".")) == 2  # site.<hash>.css
        response = Visitor().request(port, "GET", f"/static/css/site.{css}", Accept_Encoding="gzip")
        assert response.status == 200
        assert response.headers["content-encoding"] == "gzip"
        assert "immutable" in response.headers["cache-control"]
        assert get(port, "/readyz").status == 200
        # DEBUG is off: an unknown page is the styled 404, not Django's debug page.
        missing = get(port, "/p/nope/")
        assert missing.status == 404 and "Page not found" in missing.text
        assert "URLconf" not in missing.text
    finally:
        children = psutil.Process(serve.pid).children(recursive=True)
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its process group
        try:
            serve.wait(timeout=60)
        finally:
            if serve.poll() is None:
                serve.kill()
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            log.close()
    assert not any(child.is_running() for child in children)
    output = (tmp_path / "serve.log").read_text()
    assert serve.returncode == 0, output[-3000:]
    # Both processes stopped the graceful way.
    assert "Shutting down: Master" in output and "shutting down gracefully" in output
    assert "Traceback" not in output, output[-3000:]
    assert get(port, "/healthz").status is None  # nothing left listening


def serve_children(serve: subprocess.Popen, module: str) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(serve.pid).children()
        if module in " ".join(child.cmdline())
    ]


def test_make_serve_restarts_a_killed_worker_and_ends_cleanly_without_gunicorn(
    db_tasks, smtp_server, tmp_path
):
    """kill -9 of the task worker: the site keeps answering, a new worker starts and runs the
    next task. kill -9 of gunicorn's master: make serve stops the worker and exits with 1."""
    from django_tasks_db.models import DBTaskResult

    from newsletter.tasks import send_welcome_steps

    reader = SubscriptionFactory().user
    port = free_port()
    env = production_env(
        PORT=str(port),
        WEB_CONCURRENCY="2",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
    )
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    serve = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "futureforward.serve"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = []
    try:
        wait_until(
            lambda: serve.poll() is None and get(port, "/").status == 200,
            timeout=90,
            interval=0.3,
            what="make serve to answer",
        )
        (first,) = wait_until(
            lambda: serve_children(serve, "futureforward.worker"),
            timeout=30,
            what="the task worker",
        )
        started.append(first)
        first.kill()  # kill -9
        first.wait(timeout=10)
        assert get(port, "/").status == 200  # the site does not go down with it
        (second,) = wait_until(
            lambda: [w for w in serve_children(serve, "futureforward.worker") if w != first],
            timeout=30,
            what="a new task worker",
        )
        started.append(second)
        assert "task worker" in log_path.read_text() and "SIGKILL" in log_path.read_text()

        welcome_due(reader)
        result = send_welcome_steps.enqueue()
        wait_until(
            lambda: DBTaskResult.objects.get(id=result.id).status == "SUCCESSFUL",
            timeout=60,
            interval=0.2,
            what="the new worker to run the task",
        )
        assert smtp_server.count_to(reader.email) == 1
        assert get(port, "/").status == 200

        (master,) = serve_children(serve, "gunicorn")
        started.append(master)
        master.kill()
        assert serve.wait(timeout=60) == 1  # the failure is reported, not hidden
        wait_until(lambda: get(port, "/healthz", timeout=2).status is None, timeout=30)
        assert not second.is_running()
    finally:
        children = (
            psutil.Process(serve.pid).children(recursive=True) if serve.poll() is None else []
        )
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)
            try:
                serve.wait(timeout=60)
            finally:
                if serve.poll() is None:
                    serve.kill()
        for child in [*children, *started]:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        log.close()
    assert "the web server (gunicorn" in log_path.read_text()
