"""Pieces of `make bench`: the bench database, the production-shaped server, wrk runs and their
parsing, the SMTP sink.

Nothing here asserts a time: the harness measures and prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BENCH_DB_SUFFIX = "_bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The bench database -----------------------------------------------------------------------


def bench_database_url() -> str:
    """Where the bench data set lives: FF_BENCH_DATABASE_URL, else a database of its own
    ("<name>_bench") on the same PostgreSQL as DATABASE_URL or the embedded server, so 100,000
    fake readers never land in the database `make run` shows."""
    if os.environ.get("FF_BENCH_DATABASE_URL"):
        return os.environ["FF_BENCH_DATABASE_URL"]
    from futureforward.pgembed import database_url

    parts = urlsplit(os.environ.get("DATABASE_URL") or database_url())
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path="/" + name + BENCH_DB_SUFFIX))


def ensure_database(url: str) -> None:
    """Create the database url names when it does not exist yet."""
    import dj_database_url
    import psycopg

    settings = dj_database_url.parse(url)
    name = settings["NAME"]
    connect = {
        "host": settings["HOST"] or settings.get("OPTIONS", {}).get("host") or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
    }
    for maintenance in ("postgres", "template1"):
        try:
            with psycopg.connect(dbname=maintenance, autocommit=True, **connect) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if found.fetchone() is None:
                    conn.execute(f'CREATE DATABASE "{name}"')
            return
        except psycopg.OperationalError:
            continue
    raise RuntimeError(f"Could not reach PostgreSQL to create the bench database {name!r}.")


# --- The site, the production way -------------------------------------------------------------


def production_env(*, secret_key: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment production runs with, on loopback and plain http, plus the ceiling."""
    env = os.environ.copy()
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain http on loopback: secure-only cookies and an HTTPS redirect would break it.
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "FF_BENCH_CEILING": "1",
        }
    )
    env.update(extra)
    return env


def wait_for(urls: list[str], timeout: float = 60.0) -> str:
    """Wait until one of urls answers 200; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for url in urls:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                    if response.status == 200:
                        return url
            except urllib.error.HTTPError:
                continue  # up, but not this URL (no /healthz before the production merge)
            except OSError:
                time.sleep(0.2)
    raise RuntimeError(f"The site did not come up within {timeout:.0f}s")


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def workers_replaced_since(self, offset: int) -> int:
        """Count the workers gunicorn booted since the log was offset bytes long: each is one
        recycled (max_requests) or one that died, and its first requests are slower."""
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read().count(b"Booting worker with pid")
        except OSError:
            return 0

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log: Path):
    """Run the site under gunicorn as production does (its config file when the project has
    one), one worker per core; yield the Server; stop it after, whatever happens."""
    port = free_port()
    command = [PYTHON, "-m", "gunicorn"]
    if (PROJECT_DIR / "futureforward" / "gunicorn_conf.py").exists():
        command += ["--config", "python:futureforward.gunicorn_conf"]
    command += [
        "futureforward.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for([base + "/healthz", base + "/robots.txt"])
        yield Server(base=base, process=process, log=log)
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- wrk --------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int

    def as_dict(self) -> dict:
        return asdict(self)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_second=float(rps.group(1)) if rps else 0.0,
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        requests=int(total.group(1)) if total else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        sys.exit(
            "make bench drives the site with wrk, which is missing.\n"
            "Install it with: apt-get install wrk   (Debian's package)"
        )
    return path


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    lua: str | None = None,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """Drive url with wrk for a fixed time at fixed connections; lua scripts POSTs and cookies."""
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(lua)
        script.close()
        command += ["-s", script.name]
    try:
        output = subprocess.run(  # noqa: S603
            [*command, url], capture_output=True, text=True, check=True
        ).stdout
    finally:
        if script:
            os.unlink(script.name)
    return parse_wrk(output)


def peak_rss_mb(pid: int) -> float:
    """Return the process's peak resident memory (VmHWM) in MB, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) the process has used so far, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class Sink:
    host: str
    port: int
    count_file: Path
    process: subprocess.Popen

    def count(self) -> int:
        try:
            return int(self.count_file.read_text() or 0)
        except (OSError, ValueError):
            return 0

    def wait_for_count(self, target: int, *, timeout: float) -> int:
        """Wait until the sink accepted target messages (or timeout); return how many it has."""
        deadline = time.monotonic() + timeout
        while self.count() < target and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.count()


@contextlib.contextmanager
def smtp_sink(directory: Path):
    """Run tests/bench/smtp_sink.py on a free loopback port; yield the Sink; stop it after."""
    port = free_port()
    count_file = directory / f"sink-{port}.count"
    process = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "tests.bench.smtp_sink", str(port), str(count_file)], cwd=PROJECT_DIR
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                    probe.noop()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("The SMTP sink did not start.") from None
                time.sleep(0.1)
        yield Sink(host="127.0.0.1", port=port, count_file=count_file, process=process)
    finally:
        stop(process, timeout=5)


def smtp_ceiling(
    sink: Sink, message: bytes, *, seconds: float, processes: int, connections: int
) -> float:
    """One turn of the sink's ceiling, measured the way the send uses the sink: `processes`
    processes (one per task worker), each with `connections` smtplib connections, sending one
    finished message over and over for `seconds`, all starting together
    (tests/bench/smtp_load.py). Return the messages per second the sink accepted."""
    with tempfile.NamedTemporaryFile(suffix=".eml", delete=False) as file:
        file.write(message)
    start_at = time.time() + 1.5  # time for every process to start and connect
    try:
        loads = [
            subprocess.Popen(  # noqa: S603
                [
                    PYTHON,
                    "-m",
                    "tests.bench.smtp_load",
                    sink.host,
                    str(sink.port),
                    file.name,
                    str(start_at),
                    str(seconds),
                    str(connections),
                ],
                cwd=PROJECT_DIR,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        sent = 0
        for load in loads:
            output, _ = load.communicate(timeout=seconds + 60)
            if load.returncode:
                raise RuntimeError("A process of the SMTP ceiling failed.")
            sent += int(output.strip() or 0)
    finally:
        os.unlink(file.name)
    return sent / seconds
