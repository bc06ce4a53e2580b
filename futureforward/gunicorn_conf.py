"""Gunicorn settings for the `web` process: `gunicorn -c python:futureforward.gunicorn_conf
futureforward.wsgi`. Each value can be changed from the environment; command-line flags win.
"""

import os
from pathlib import Path

from futureforward import liveness
from futureforward.logs import TEXT_FORMAT, log_format


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# PORT is what most platforms hand a web process; GUNICORN_BIND overrides it entirely.
bind = os.environ.get("GUNICORN_BIND") or (
    f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else "127.0.0.1:8000"
)
# Sync workers: one request each. Requests wait on PostgreSQL more than on the CPU, hence the
# classic 2 x cores + 1. WEB_CONCURRENCY is the name platforms and buildpacks use.
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
# A worker stuck longer than this is killed and replaced; the request gets a 502 from the proxy.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (a deploy, a scale-down) requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind a load balancer keep-alive saves a TCP handshake per request; keep it below the
# balancer's own idle timeout (60 s on most).
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# The application is loaded once, in the master, before the workers are forked; with it every
# view imported and every template compiled (futureforward/warmup.py). A worker then starts
# ready in milliseconds and shares those pages of memory with the others. Without it a
# replaced worker spent about two seconds loading, and its first request another half second.
# Trade-off: `kill -HUP` starts new workers from the code the master loaded, so a deploy of new
# code restarts the whole process (as containers and systemd restarts do).
# GUNICORN_PRELOAD=0 loads the application in each worker instead.
_OFF = {"0", "false", "no", "off"}
preload_app = os.environ.get("GUNICORN_PRELOAD", "1").strip().lower() not in _OFF
# Recycle workers now and then, so a slow leak in any library never grows without bound. Rarely:
# a fresh worker renders every page again for its own cache and reads the pages' versions
# anew, and at 20,000 requests a busy two-core server replaced both its workers within the same
# two seconds about every forty, a stall of half a second or more for everyone then waiting.
# The wide jitter spreads the workers' turns apart.
max_requests = _int("GUNICORN_MAX_REQUESTS", 100_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 50_000)
# Heartbeat files on a RAM disk: a slow or full disk must not get healthy workers killed.
_SHM = "/dev/shm"  # noqa: S108 (a fixed system path, not a temp file we create)  # nosec
if Path(_SHM).is_dir():
    worker_tmp_dir = _SHM

# Gunicorn 25+ opens a control socket at one fixed path per user, which a second server on the
# same machine would take over. Nothing here uses it; GUNICORN_CONTROL_SOCKET names a path to
# turn it on.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# Access log and gunicorn's own messages on stdout, one JSON object per line in production.
accesslog = None  # logconfig_dict below turns the access log on, with our formatter
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
_formatter = (
    {"()": "futureforward.logs.JsonFormatter"}
    if log_format() == "json"
    else {"format": TEXT_FORMAT}
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"ff": _formatter},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "ff",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        # The embedded development database reports every start at INFO.
        "pgserver": {"level": "WARNING"},
    },
}

# Liveness that never waits behind a busy worker: with HEALTH_PORT set, the master answers
# GET /healthz on that port itself (futureforward/liveness.py). Point liveness probes there.
_liveness = {}


def when_ready(server):
    port = liveness.port_from_environment()
    if port is not None:
        _liveness["master"] = liveness.Liveness(liveness.host_of(server.cfg.bind), port)
        # Listening before the workers fork keeps the port out of their hands from the start.
        _liveness["master"].bound.wait(timeout=2)


def post_fork(server, worker):
    if "master" in _liveness:
        _liveness["master"].close_in_worker()
