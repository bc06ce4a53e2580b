"""Pieces of `make bench`: free ports, the production-shaped server, wrk runs and their parsing.

Nothing here asserts a time: the harness measures and prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(**extra: str) -> dict[str, str]:
    """The environment production runs with, on loopback and plain http."""
    env = os.environ.copy()
    env.update(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-" + "k" * 60,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "FF_BENCH_CEILING": "1",
        }
    )
    env.update(extra)
    return env


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status < 500:
                    return
        except Exception:  # noqa: BLE001 (not up yet)
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f}s")


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int | None = None):
    """Run the site under gunicorn as production does; yield its base URL; stop it after."""
    port = free_port()
    workers = workers or os.cpu_count() or 1
    process = subprocess.Popen(  # noqa: S603
        [
            PYTHON,
            "-m",
            "gunicorn",
            "futureforward.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_DIR,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int


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
    seconds: int,
    connections: int,
    threads: int = 2,
    lua: str | None = None,
) -> WrkResult:
    """Drive url with wrk for a fixed time at fixed connections; lua scripts POSTs and cookies."""
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
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
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")
