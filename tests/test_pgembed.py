"""Loading settings starts no server; the `pgembed run` wrapper is what hands the embedded
PostgreSQL to a command, as a plain DATABASE_URL."""

import os
import subprocess

import pytest

from tests.production.procs import PROJECT_DIR, PYTHON

pytestmark = pytest.mark.django_db  # the suite's autouse fixture clears the shared cache


def _env_without_database(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="futureforward.settings", **extra)
    return env


def test_settings_without_a_database_url_refuse_clearly_and_start_nothing(tmp_path):
    pgdata = tmp_path / "pgdata"
    result = subprocess.run(  # noqa: S603
        [PYTHON, "-c", "from django.conf import settings; settings.DATABASES"],
        cwd=PROJECT_DIR,
        env=_env_without_database(FF_PGDATA=str(pgdata)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "python -m futureforward.pgembed run --" in result.stderr
    assert not pgdata.exists()  # no server was set up as a side effect


def test_the_wrapper_starts_the_embedded_server_hands_it_over_and_stops_it(tmp_path):
    pgdata = tmp_path / "pgdata"
    code = (
        "import os, django; django.setup(); from django.db import connection; "
        "print(os.environ['DATABASE_URL']); connection.ensure_connection(); print('connected')"
    )
    result = subprocess.run(  # noqa: S603
        [PYTHON, "-m", "futureforward.pgembed", "run", "--", PYTHON, "-c", code],
        cwd=PROJECT_DIR,
        env=_env_without_database(FF_PGDATA=str(pgdata)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    url, connected = result.stdout.split()
    assert url.startswith("postgresql://postgres@")
    assert connected == "connected"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists()  # started for the command, stopped after it
