"""`make run`'s runner: it serves the demo site, and one Ctrl-C stops every process it started."""

import os
import signal
import subprocess
import time
import urllib.request

import psutil
import pytest

from tests.production.procs import PROJECT_DIR, PYTHON, database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_ctrl_c_stops_the_web_server_the_worker_and_their_children():
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "PORT": str(port), "DJANGO_DEBUG": "true"}
    runner = subprocess.Popen(  # noqa: S603
        [
            PYTHON,
            "-m",
            "futureforward.pgembed",
            "run",
            "--",
            PYTHON,
            "-m",
            "futureforward.devserver",
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:  # noqa: S310
                    assert b"Four-Day Week" in page.read()
                break
            except OSError:
                assert runner.poll() is None, runner.stdout.read().decode()
                assert time.monotonic() < deadline, "make run's server never answered"
                time.sleep(0.5)
        started = psutil.Process(runner.pid).children(recursive=True)
        commands = [" ".join(process.cmdline()) for process in started]
        assert any("runserver" in command for command in commands)
        assert any("db_worker" in command for command in commands)

        os.killpg(runner.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        runner.wait(timeout=30)
        gone, alive = psutil.wait_procs(started, timeout=15)
        assert alive == []
        output = runner.stdout.read().decode()
        assert "Traceback" not in output
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
