"""`make bench`: how fast Future Forward serves readers, beside what the stack itself allows.

1. Seeds a small data set and measures SQL queries per request in-process, then seeds the real
   one (`manage.py seed_bench --reset`, timed) and measures again: the counts must not grow.
2. Starts the site the production way (gunicorn, DEBUG off, one worker per core) on loopback
   against the same PostgreSQL, in a database of its own, and drives each page with wrk at
   fixed connections for a fixed time, after a short warm-up: home, the post page anonymous and
   logged in, a comments "show more" page, a vote from many distinct readers, a thumbs up. Each
   beside its ceiling: a do-nothing page of the same size through the same middleware
   (futureforward/bench.py), measured in turns with it.
3. Measures the real send to 100,000 subscribers into a local SMTP sink, by one task worker per
   core with NEWSLETTER_SMTP_CONNECTIONS connections each, for at most FF_BENCH_SEND_SECONDS
   (300; the rate is over what arrived by then), beside the sink's ceiling measured the same
   way (as many processes and connections, one finished message over and over), in turns
   before and after the send.

Prints a table, writes bench-results.json, and stops everything it started, whatever happens.
Every figure is a ratio to its ceiling measured in the same run, because absolute numbers depend
on the machine and on whatever else runs on it.
FF_BENCH_SECONDS and FF_BENCH_CONNECTIONS change the wrk runs. FF_BENCH_PROFILE=1 profiles the
first measured turn of each web scenario and a window of the send (py-spy on the workers,
PostgreSQL's waits: tests/bench/profile.py) and keeps the profiles in bench-profiles/.
FF_BENCH_ONLY=send runs the send alone (after seeding), no web scenario.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.bench import harness, profile

SECONDS = float(os.environ.get("FF_BENCH_SECONDS", "8"))
# The send to 100,000 is measured for at most this long (over what arrived by then), so the whole
# run stays within ten minutes; at the target rate the send finishes well inside it.
SEND_SECONDS = float(os.environ.get("FF_BENCH_SEND_SECONDS", "300"))
WARM_UP_SECONDS = 1
# FF_BENCH_ONLY=post_anonymous,post_counting runs only those web scenarios and skips the
# newsletter send; FF_BENCH_ONLY=send (or newsletter) runs the send (a quick look at one change;
# the README's figures come from a whole run).
ONLY = [key for key in os.environ.get("FF_BENCH_ONLY", "").split(",") if key]
SEND_KEYS = {"send", "newsletter"}
# The sink's ceiling: this many turns of this many seconds, before the send and again after it.
CEILING_TURNS = 3
CEILING_SECONDS = 4.0
# py-spy on the task workers for this long during the send (FF_BENCH_PROFILE=1).
SEND_PROFILE_SECONDS = 20
SEND_PROFILE_WARM_UP = 5
# Distinct browsers in the "counting on" scenario: each is a new visitor to count and flush.
COUNTED_VISITORS = 2_000
BENCH_BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CONNECTIONS = int(os.environ.get("FF_BENCH_CONNECTIONS", "4"))
# FF_BENCH_SUBSCRIBERS=1000000 runs the large mode instead (tests/bench/large.py).
LARGE_SUBSCRIBERS = int(os.environ.get("FF_BENCH_SUBSCRIBERS", "0") or 0)
THREADS = 2
WORKERS = os.cpu_count() or 1
RESULTS = harness.PROJECT_DIR / "bench-results.json"
PROFILE = os.environ.get("FF_BENCH_PROFILE", "") not in {"", "0"}
PROFILES = harness.PROJECT_DIR / "bench-profiles"

FULL = {"posts": 200, "subscribers": 100_000, "votes": 20_000, "comments": 1_000}
# Enough top-level comments (a quarter of them) for a second page of 20.
SMALL = {"posts": 12, "subscribers": 60, "votes": 30, "comments": 100, "thumbs-up": 10}
BIG_SLUG = "ffbench-big-post"
# Bench readers by role (reader numbers, 1-based; the first 20,000 voted in the big poll).
PAGE_READERS = range(1, 1_001)  # voted already: their poll shows results and their choice
VOTERS = range(1_001, 3_001)  # change their vote on every request
THUMBERS = range(20_001, 22_001)  # no thumbs up yet: give one, then take it back

# What the send rows say when FF_BENCH_ONLY left the send out.
PENDING = "not measured in this run (FF_BENCH_ONLY leaves the send out)"


@dataclass
class Row:
    key: str
    label: str
    result: harness.WrkResult | None = None
    size: int = 0  # bytes of the response
    ceiling_rps: float = 0.0  # the same-size ceiling, measured right before and after
    target_ratio: float | None = None
    target_p99_ms: float | None = None
    queries_small: str = ""
    queries_big: str = ""
    note: str = ""
    workers_replaced: int = 0  # workers gunicorn booted during the row (recycled or died)

    @property
    def ratio(self) -> float | None:
        if self.result is None or not self.ceiling_rps:
            return None
        return self.result.requests_per_second / self.ceiling_rps


def manage(env: dict, *args: str, quiet: bool = False) -> float:
    """Run manage.py with env; return its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [harness.PYTHON, "manage.py", *args],
        cwd=harness.PROJECT_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - started


def seed(env: dict, sizes: dict, *, quiet: bool = False) -> float:
    options = [f"--{name}={value}" for name, value in sizes.items()]
    # A scratch database of the bench's own: the command's development-only guard is satisfied
    # by running it with DEBUG on, as a developer would.
    return manage(env | {"DJANGO_DEBUG": "true"}, "seed_bench", "--reset", *options, quiet=quiet)


# --- In-process measurements (Django set up in this process against the bench database) -------


def setup_django(env: dict) -> None:
    # All of it: a setting left out (the HTTPS redirect, say) turns every counted page into a
    # redirect that runs no query at all.
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "futureforward.settings")
    import django

    django.setup()


def reader(number: int):
    from accounts.models import User
    from futureforward.management.commands.seed_bench import reader_email

    return User.objects.get(email=reader_email(number))


def query_counts(sizes: dict) -> dict[str, tuple[int, int | None]]:
    """Queries per request for each scenario, with Django's test client and
    CaptureQueriesContext: pages as rendered, and as served from the page cache. The readers
    are alike in both data sets: one who voted and neither liked nor wrote a comment there
    (the page), another voter (changes their vote), the last reader (no thumbs up yet)."""
    from django.core.cache import caches
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from polls.models import Poll

    def count(call) -> int:
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = call()
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code} while counting queries")
        return len(queries)

    def both(client, path, **headers) -> tuple[int, int]:
        client.get(path, **headers)  # per-process state (templates, settings) warmed
        listening()
        caches["pages"].clear()
        rendered = count(lambda: client.get(path, **headers))
        return rendered, count(lambda: client.get(path, **headers))

    post = f"/p/{BIG_SLUG}/"
    plain = (
        User.objects.filter(email__endswith="@bench.example", poll_votes__poll__post__slug=BIG_SLUG)
        .exclude(comment_likes__comment__post__slug=BIG_SLUG)
        .exclude(comments__post__slug=BIG_SLUG)
        .order_by("pk")
        .first()
    ) or reader(1)
    anonymous, logged_in, voter, thumber = (Client(SERVER_NAME="localhost") for _ in range(4))
    logged_in.force_login(plain)
    voter.force_login(reader(2))
    thumber.force_login(reader(sizes["subscribers"]))
    poll = Poll.objects.get(post__slug=BIG_SLUG)
    choices = iter(list(poll.choices.values_list("pk", flat=True)) * 10)
    htmx = {"HTTP_HX_REQUEST": "true"}
    vote = f"/polls/{poll.pk}/vote/"
    thumbs = f"/p/{BIG_SLUG}/thumbs-up/"
    return {
        "home": both(anonymous, "/"),
        "post_anonymous": both(anonymous, post),
        "post_counted": both(anonymous, post, HTTP_USER_AGENT=BENCH_BROWSER),
        "post_counting": both(anonymous, post, HTTP_USER_AGENT=BENCH_BROWSER),
        "post_not_counted": both(anonymous, post, HTTP_DNT="1"),
        "post_logged_in": both(logged_in, post),
        "comments_more": both(anonymous, f"/p/{BIG_SLUG}/comments/?sort=newest&page=2", **htmx),
        "vote": (count(lambda: voter.post(vote, {"choice": next(choices)}, **htmx)), None),
        "thumbs_up": (count(lambda: thumber.post(thumbs, {"given": "1"}, **htmx)), None),
    }


def listening(seconds: float = 10.0) -> None:
    """Wait (a little) for this process's page versions listener, started by the first cached
    request, to be live, as it is in a web process that has served a page before."""
    from posts.pagecache import listener

    deadline = time.monotonic() + seconds
    while listener.enabled() and not listener.is_live() and time.monotonic() < deadline:
        time.sleep(0.05)


def make_sessions(numbers) -> list[tuple[str, str]]:
    """Log bench readers in the way Django does (a session per reader, via SessionStore) without
    the login round trip; return (Cookie header, CSRF token) per reader."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from accounts.sessions import SessionStore
    from futureforward.management.commands.seed_bench import reader_email

    users = User.objects.filter(email__in=[reader_email(n) for n in numbers]).only("pk", "password")
    store, model = SessionStore(), SessionStore.get_model_class()
    expires = timezone.now() + datetime.timedelta(hours=2)
    rows, cookies = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(
            model(
                session_key=key,
                session_data=store.encode(data),
                expire_date=expires,
                user_id=user.pk,  # as the session engine stores it (accounts/sessions.py)
            )
        )
        # The CSRF secret itself is a valid token (Django accepts it unmasked in the header).
        csrf = get_random_string(32)
        cookie = f"{settings.SESSION_COOKIE_NAME}={key}; {settings.CSRF_COOKIE_NAME}={csrf}"
        cookies.append((cookie, csrf))
    model.objects.bulk_create(rows, batch_size=2000)
    return cookies


def delete_sessions(cookies) -> None:
    from accounts.models import Session

    keys = [cookie.split(";")[0].split("=", 1)[1] for cookie, _csrf in cookies]
    Session.objects.filter(session_key__in=keys).delete()


# --- wrk scripts --------------------------------------------------------------------------------


def lua_readers(method: str, path: str, cookies, *, body: str = "", choices=()) -> str:
    """A wrk script: each request comes from the next reader (threads take turns through the
    list), with their session and CSRF cookies, and for POSTs their CSRF header. In body,
    {choice} becomes one of choices (a different one on each of a reader's visits) and {given}
    alternates 1 and 0 per pass over the readers."""
    entries = ",\n".join(f'  {{"{cookie}", "{csrf}"}}' for cookie, csrf in cookies)
    choice_list = ", ".join(str(c) for c in choices) or "0"
    return f"""
local readers = {{
{entries}
}}
local choices = {{ {choice_list} }}
local threads = {THREADS}
local count = 0
local counter = 0
function setup(thread)
  thread:set("offset", count)
  count = count + 1
end
function request()
  counter = counter + 1
  local n = (counter - 1) * threads + (offset or 0)
  local i = n % #readers + 1
  local pass = math.floor(n / #readers)
  local reader = readers[i]
  local body = "{body}"
  body = body:gsub("{{choice}}", tostring(choices[(pass + i) % #choices + 1]))
  body = body:gsub("{{given}}", tostring((pass + 1) % 2))
  local headers = {{["Cookie"] = reader[1], ["HX-Request"] = "true"}}
  if "{method}" == "POST" then
    headers["X-CSRFToken"] = reader[2]
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "{path}", headers, body)
  end
  headers["HX-Request"] = nil
  return wrk.format("GET", "{path}", headers)
end
"""


def lua_visitors(path: str, *, do_not_track: bool = False) -> str:
    """A wrk script: each request from one of COUNTED_VISITORS browsers, in turn (with Do Not
    Track: the same requests, which counting looks at and leaves alone)."""
    dnt = ', ["DNT"] = "1"' if do_not_track else ""
    return f"""
local counter = 0
function request()
  counter = counter + 1
  local browser = "Mozilla/5.0 (X11; Linux x86_64; bench " .. (counter % {COUNTED_VISITORS}) ..
    ") Gecko/20100101 Firefox/133.0"
  return wrk.format("GET", "{path}", {{["User-Agent"] = browser{dnt}}})
end
"""


class SkipSend(Exception):
    """FF_BENCH_ONLY named no newsletter scenario: stop after the web scenarios."""


def probe(url: str, *, method="GET", cookie="", csrf="", body="", htmx=False) -> tuple[int, int]:
    """One request before a scenario, so a misconfigured one says so instead of measuring
    error pages; return (status, body size)."""
    request = urllib.request.Request(url, method=method, data=body.encode() if body else None)  # noqa: S310
    if cookie:
        request.add_header("Cookie", cookie)
    if csrf:
        request.add_header("X-CSRFToken", csrf)
    if htmx:
        request.add_header("HX-Request", "true")
    if body:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, len(response.read())
    except urllib.error.HTTPError as error:
        print(f"  ! {method} {url} answered {error.code}: {error.read()[:300]!r}")
        return error.code, 0


# --- Output ---------------------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average_before": [round(n, 2) for n in os.getloadavg()],
    }


def verdict(row: Row) -> str:
    if row.ratio is None or row.target_ratio is None:
        return ""
    ok = row.ratio >= row.target_ratio
    text = f">={row.target_ratio:.2f}x"
    if row.target_p99_ms is not None:
        ok = ok and row.result.p99_ms < row.target_p99_ms
        text += f", p99<{row.target_p99_ms:.0f}ms"
    return f"{text} {'met' if ok else 'MISSED'}"


def table(rows: list[Row]) -> str:
    header = (
        f"{'scenario':<34} {'KB':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ceiling':>8} "
        f"{'x ceil':>6} {'non-2xx':>7} {'q small':>8} {'q big':>6}  target"
    )
    lines = [header, "-" * (len(header) + 26)]
    for row in rows:
        if row.result is None:
            lines.append(f"{row.label:<34} {row.note}")
            continue
        r = row.result
        lines.append(
            f"{row.label:<34} {row.size / 1024:>4.0f} {r.requests_per_second:>7.1f} "
            f"{r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {row.ceiling_rps:>8.1f} {row.ratio or 0:>5.2f}x "
            f"{r.non_2xx + r.errors:>7} {row.queries_small:>8} {row.queries_big:>6}  "
            f"{verdict(row)}{replaced(row)}"
        )
    return "\n".join(lines)


def replaced(row: Row) -> str:
    """Say so when a worker was replaced during the row: its first requests were slower."""
    if not row.workers_replaced:
        return ""
    return f" ({row.workers_replaced} worker{'s' if row.workers_replaced > 1 else ''} replaced)"


def combined(runs: list[harness.WrkResult]) -> harness.WrkResult:
    """Several runs of one URL as one: mean rate, median of the medians, the worst 99th."""
    return harness.WrkResult(
        requests_per_second=statistics.mean(run.requests_per_second for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=max(run.p99_ms for run in runs),
        requests=sum(run.requests for run in runs),
        non_2xx=sum(run.non_2xx for run in runs),
        errors=sum(run.errors for run in runs),
    )


# --- Newsletter ---------------------------------------------------------------------------------


def newsletter_message() -> bytes:
    """The big post as an email, rendered once, the size a real issue is."""
    from django.core.mail import EmailMultiAlternatives

    from posts.models import Post

    post = Post.objects.get(slug=BIG_SLUG)
    message = EmailMultiAlternatives(
        subject=post.title,
        body=post.body_text,
        from_email="Future Forward <newsletter@bench.example>",
        to=["reader@bench.example"],
    )
    message.attach_alternative(f"<html><body>{post.body}</body></html>", "text/html")
    # SMTP wants CRLF line ends; smtplib leaves bytes as they are.
    return message.message().as_bytes(linesep="\r\n")


def newsletter_send(
    *,
    env: dict,
    sink: harness.Sink,
    subscribers: int,
    connections: int,
    database_url: str,
    workers: int = WORKERS,
    timeout: float = SEND_SECONDS,
) -> dict | None:
    """The real send of the big post to every active subscriber, into the sink.

    Task workers run it as production does, one per core like the web servers; messages/s is
    counted from the moment the send is started (the admin's action) until the sink holds every
    message (or timeout passes: then over what arrived), and each worker's peak memory is read
    from /proc before it stops.
    """
    from django.db import transaction

    from newsletter import services
    from newsletter.models import NewsletterSend
    from posts.models import Post

    post = Post.objects.get(slug=BIG_SLUG)
    NewsletterSend.objects.filter(post=post).delete()  # a bench database: start each run afresh
    worker_env = {
        **env,
        "EMAIL_HOST": sink.host,
        "EMAIL_PORT": str(sink.port),
        "NEWSLETTER_SMTP_CONNECTIONS": str(connections),
    }
    worker_env.pop("EMAIL_URL", None)
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "futureforward.worker"],
            cwd=harness.PROJECT_DIR,
            env=worker_env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        before = sink.count()
        started = time.perf_counter()
        with transaction.atomic():  # create_send starts it; tasks are enqueued on commit
            services.create_send(post=post, created_by=None, mode="full", teaser_words=150)
        target = before + subscribers
        # CPU per message, counted from the first message that arrives (the workers' start-up
        # is not the send's cost): a figure the other programs on the machine do not change.
        sink.wait_for_count(before + 1, timeout=timeout)
        first, cpu_began = sink.count(), time.perf_counter()
        cpu_before = [harness.cpu_seconds(process.pid) for process in processes]
        sink_cpu_before = harness.cpu_seconds(sink.process.pid)
        if PROFILE and profile.available():
            # Past the start (imports, the URL resolver filled once per process): the send's
            # steady pace.
            time.sleep(SEND_PROFILE_WARM_UP)
            with profile.profiled(
                "newsletter_send",
                pids=[process.pid for process in processes],
                database_url=database_url,
                seconds=SEND_PROFILE_SECONDS,
                directory=PROFILES,
                anchor="_claim_and_deliver",  # one connection's batch, in whichever thread
            ):
                time.sleep(SEND_PROFILE_SECONDS)
        received = sink.wait_for_count(target, timeout=timeout) - before
        cpu_after = [harness.cpu_seconds(process.pid) for process in processes]
        sink_cpu = harness.cpu_seconds(sink.process.pid) - sink_cpu_before
        in_window = before + received - first
        window = time.perf_counter() - cpu_began
        seconds = time.perf_counter() - started
        peaks = [harness.peak_rss_mb(process.pid) for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    worker_cpu = sum(cpu_after) - sum(cpu_before)
    return {
        "workers": workers,
        "connections_per_worker": connections,
        "messages": received,
        "seconds": round(seconds, 2),
        "messages_per_second": received / seconds if seconds else 0.0,
        "worker_peak_rss_mb": max(peaks),
        "worker_cpu_ms_per_message": worker_cpu * 1000 / in_window if in_window else None,
        "messages_per_worker_cpu_second": in_window / worker_cpu if worker_cpu else None,
        "sink_cpu_ms_per_message": sink_cpu * 1000 / in_window if in_window else None,
        "worker_cpu_share": worker_cpu / window / workers if window else None,
    }


# --- Main -----------------------------------------------------------------------------------------


def segment_count_time(runs: int = 5) -> tuple[float, int]:
    """Return the median time (ms) to count a three-condition segment at the full data set
    (on the default newsletter, voted in the last 30 days, answered the big poll with its first
    choice), and the count. One SQL query each time."""
    from newsletter.models import Newsletter
    from newsletter.segments import segment_count
    from polls.models import Poll

    poll = Poll.objects.get(post__slug=BIG_SLUG)
    conditions = [
        {"kind": "newsletter", "newsletter": Newsletter.objects.default().pk},
        {"kind": "activity", "action": "voted", "days": 30},
        {"kind": "poll_answer", "poll": poll.pk, "choice": poll.choices.order_by("position")[0].pk},
    ]
    segment_count(conditions)  # warm the caches once
    times, count = [], 0
    for _run in range(runs):
        began = time.perf_counter()
        count = segment_count(conditions)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), count


def main() -> int:
    if LARGE_SUBSCRIBERS:
        from tests.bench import large

        return large.main(LARGE_SUBSCRIBERS)
    harness.require_wrk()
    started = time.perf_counter()
    info = machine()
    workdir = Path(tempfile.mkdtemp(prefix="ff-bench-"))
    database_url = harness.bench_database_url()
    harness.ensure_database(database_url)
    env = harness.production_env(secret_key=secrets.token_urlsafe(50), database_url=database_url)
    print(
        f"Future Forward bench: {info['nproc']} cores ({info['cpu']}), {info['memory_gb']} GB, "
        f"{WORKERS} gunicorn workers, wrk {THREADS} threads x {CONNECTIONS} connections "
        f"x {SECONDS:.0f} s per scenario; load average before: "
        f"{', '.join(str(n) for n in info['load_average_before'])}.\n"
    )
    print("Preparing the bench database (migrate, cache table, static files)...")
    manage(env, "migrate", "--noinput", quiet=True)
    manage(env, "createcachetable", quiet=True)
    manage(env, "collectstatic", "--noinput", "--verbosity", "0", quiet=True)
    setup_django(env)

    print("Small data set, for query counts...")
    seed(env, SMALL, quiet=True)
    small = query_counts(SMALL)
    print("Seeding the real data set (timed)...")
    seed_seconds = seed(env, FULL)
    big = query_counts(FULL)
    segment_ms, segment_readers = segment_count_time()

    rows = [
        # Targets of the speed round (round two): anonymous pages 0.8x, counting included
        # (the analytics work asked 0.7x of it); readers' writes 0.4x with p99 under 50 ms.
        Row("home", "home, anonymous", target_ratio=0.8),
        Row("post_anonymous", "post page, anonymous", target_ratio=0.8),
        Row("post_counted", "post page, anonymous, counted", target_ratio=0.8),
        # Every request from another browser, through a wrk script (which costs wrk itself
        # time per request): counted, and the same requests with Do Not Track, not counted.
        Row("post_counting", "post page, 2,000 browsers, counted"),
        Row("post_not_counted", "post page, 2,000 browsers, DNT"),
        Row(
            "post_logged_in",
            "post page, logged-in subscriber",
            target_ratio=0.5,
            target_p99_ms=50,
        ),
        Row("comments_more", "comments 'show more' (htmx)"),
        Row("vote", "vote POST, 2,000 distinct readers", target_ratio=0.4, target_p99_ms=50),
        Row("thumbs_up", "thumbs-up POST, 2,000 readers", target_ratio=0.4, target_p99_ms=50),
    ]
    if ONLY:
        rows = [row for row in rows if row.key in ONLY]
    for row in rows:
        if row.key in small:
            rendered_small, cached_small = small[row.key]
            rendered_big, cached_big = big[row.key]
            small_cached = "" if cached_small is None else f"/{cached_small}"
            big_cached = "" if cached_big is None else f"/{cached_big}"
            row.queries_small = f"{rendered_small}{small_cached}"
            row.queries_big = f"{rendered_big}{big_cached}"

    sessions: list = []
    smtp: dict = {}
    newsletter = None
    worker_rss: list[float] = []
    try:
        from polls.models import Poll

        poll = Poll.objects.get(post__slug=BIG_SLUG)
        choices = list(poll.choices.values_list("pk", flat=True))
        readers = make_sessions(PAGE_READERS)
        voters = make_sessions(VOTERS)
        thumbers = make_sessions(THUMBERS)
        sessions = readers + voters + thumbers
        post_path = f"/p/{BIG_SLUG}/"
        wrk = {"connections": CONNECTIONS, "threads": THREADS}
        with harness.gunicorn(env, workers=WORKERS, log=workdir / "gunicorn.log") as server:
            base = server.base
            plans = {
                "home": {"path": "/"},
                "post_anonymous": {"path": post_path},
                # Every request from another browser: a new visitor, hashed, buffered and
                # flushed by the workers' own threads (analytics/counting.py) during the run.
                # A browser's request, counted: wrk sends no User-Agent of its own.
                "post_counted": {"path": post_path, "headers": {"User-Agent": BENCH_BROWSER}},
                "post_counting": {"path": post_path, "lua": lua_visitors(post_path)},
                "post_not_counted": {
                    "path": post_path,
                    "lua": lua_visitors(post_path, do_not_track=True),
                },
                "post_logged_in": {
                    "path": post_path,
                    "lua": lua_readers("GET", post_path, readers),
                    "probe": {"cookie": readers[0][0]},
                },
                "comments_more": {
                    "path": f"/p/{BIG_SLUG}/comments/?sort=newest&page=2",
                    "headers": {"HX-Request": "true"},
                    "probe": {"htmx": True},
                },
                "vote": {
                    "path": f"/polls/{poll.pk}/vote/",
                    "lua": lua_readers(
                        "POST",
                        f"/polls/{poll.pk}/vote/",
                        voters,
                        body="choice={choice}",
                        choices=choices,
                    ),
                    "probe": {
                        "method": "POST",
                        "cookie": voters[-1][0],
                        "csrf": voters[-1][1],
                        "body": f"choice={choices[0]}",
                        "htmx": True,
                    },
                },
                "thumbs_up": {
                    "path": f"/p/{BIG_SLUG}/thumbs-up/",
                    "lua": lua_readers(
                        "POST", f"/p/{BIG_SLUG}/thumbs-up/", thumbers, body="given={given}"
                    ),
                    "probe": {
                        "method": "POST",
                        "cookie": thumbers[-1][0],
                        "csrf": thumbers[-1][1],
                        "body": "given=1",
                        "htmx": True,
                    },
                },
            }
            # The ceiling for each scenario is the do-nothing page of the size that scenario
            # answers with. Other programs on the machine change its speed from second to
            # second, so the two take turns: ceiling, scenario, ceiling, scenario, ceiling.
            for row in rows:
                plan = plans[row.key]
                url = base + plan["path"]
                status, size = probe(url, **plan.get("probe", {}))
                if status >= 400:
                    row.note = f"probe answered {status}; see above"
                row.size = size
                ceiling_url = f"{base}/bench/ceiling/?bytes={max(size, 256)}"
                options = {**wrk, "lua": plan.get("lua"), "headers": plan.get("headers")}
                harness.run_wrk(url, seconds=WARM_UP_SECONDS, **options)
                log_offset = server.log_size()
                ceilings = [harness.run_wrk(ceiling_url, seconds=SECONDS / 4, **wrk)]
                runs = []
                for turn in range(2):
                    with (
                        profile.profiled(
                            row.key,
                            pids=server.worker_pids(),
                            database_url=database_url,
                            seconds=SECONDS / 2,
                            directory=PROFILES,
                        )
                        if PROFILE and turn == 0 and profile.available()
                        else contextlib.nullcontext()
                    ):
                        runs.append(harness.run_wrk(url, seconds=SECONDS / 2, **options))
                    ceilings.append(harness.run_wrk(ceiling_url, seconds=SECONDS / 4, **wrk))
                row.result = combined(runs)
                row.ceiling_rps = combined(ceilings).requests_per_second
                row.workers_replaced = server.workers_replaced_since(log_offset)
                print(
                    f"  {row.label:<34} {row.result.requests_per_second:8.1f} req/s "
                    f"p99 {row.result.p99_ms:6.1f} ms  {row.ratio:.2f}x its ceiling "
                    f"({row.ceiling_rps:.0f} req/s at {size / 1024:.0f} KB){replaced(row)}"
                )
            worker_rss = [harness.peak_rss_mb(pid) for pid in server.worker_pids()]

        if ONLY and not SEND_KEYS & set(ONLY):
            raise SkipSend
        from django.conf import settings

        connections = settings.NEWSLETTER_SMTP_CONNECTIONS
        message = newsletter_message()
        with harness.smtp_sink(workdir) as sink:
            shape = {"processes": WORKERS, "connections": connections}
            print(
                f"SMTP sink ceiling before the send ({WORKERS} processes x {connections} "
                f"connections, {CEILING_TURNS} turns of {CEILING_SECONDS:.0f} s)..."
            )
            before = [
                harness.smtp_ceiling(sink, message, seconds=CEILING_SECONDS, **shape)
                for _turn in range(CEILING_TURNS)
            ]
            print("Newsletter send...")
            newsletter = newsletter_send(
                env=env,
                sink=sink,
                subscribers=FULL["subscribers"],
                connections=connections,
                database_url=database_url,
            )
            print("SMTP sink ceiling after the send...")
            after = [
                harness.smtp_ceiling(sink, message, seconds=CEILING_SECONDS, **shape)
                for _turn in range(CEILING_TURNS)
            ]
            smtp = {
                "processes": WORKERS,
                "connections_per_process": connections,
                "turn_seconds": CEILING_SECONDS,
                "before": [round(rate, 1) for rate in before],
                "after": [round(rate, 1) for rate in after],
                # The mean of the two means: the sink as it was around the send.
                "messages_per_second": (statistics.mean(before) + statistics.mean(after)) / 2,
                "message_bytes": len(message),
            }
    except SkipSend:
        shutil.rmtree(workdir, ignore_errors=True)
    except BaseException:
        print(f"The site's log is in {workdir / 'gunicorn.log'}.")
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        if sessions:
            delete_sessions(sessions)

    if smtp:  # not measured when FF_BENCH_ONLY names no newsletter scenario
        turns = smtp["before"] + smtp["after"]
        rows.append(
            Row(
                "smtp_ceiling",
                f"SMTP sink ceiling ({smtp['processes']}x{smtp['connections_per_process']} conns)",
                note=f"{smtp['messages_per_second']:,.0f} messages/s "
                f"({smtp['message_bytes'] / 1024:.0f} KB each): mean before the send "
                f"{statistics.mean(smtp['before']):,.0f}, "
                f"after {statistics.mean(smtp['after']):,.0f}"
                f"; turns from {min(turns):,.0f} to {max(turns):,.0f} "
                f"(spread {100 * (max(turns) - min(turns)) / max(max(turns), 1):.0f}% of the "
                f"fastest)",
            )
        )
    if newsletter:
        ratio = newsletter["messages_per_second"] / smtp["messages_per_second"]
        rows.append(
            Row(
                "newsletter",
                f"newsletter send, {FULL['subscribers']:,} subscribers",
                note=f"{newsletter['messages_per_second']:,.0f} messages/s with "
                f"{newsletter['workers']} workers x {newsletter['connections_per_worker']} "
                f"connections ({newsletter['messages']:,} delivered in "
                f"{newsletter['seconds']:.0f} s; {ratio:.2f}x the sink ceiling, "
                f"target >=0.80x); worker peak "
                f"{newsletter['worker_peak_rss_mb']:.0f} MB (target <250 MB)",
            )
        )
        rows.append(
            Row(
                "newsletter_cpu",
                "newsletter send, CPU per message",
                note=f"{newsletter['worker_cpu_ms_per_message'] or 0:.2f} ms in the worker "
                f"({newsletter['messages_per_worker_cpu_second'] or 0:,.0f} messages per worker "
                f"CPU-second; each worker had {100 * (newsletter['worker_cpu_share'] or 0):.0f}% "
                f"of a core), {newsletter['sink_cpu_ms_per_message'] or 0:.2f} ms in the sink",
            )
        )
    else:
        rows.append(
            Row("newsletter", f"newsletter send, {FULL['subscribers']:,} subscribers", note=PENDING)
        )
        rows.append(Row("newsletter_rss", "newsletter worker peak memory", note=PENDING))

    print()
    print(f"seed_bench, full data set: {seed_seconds:.1f} s (command wall time, reset included)")
    print(
        f"segment count, 3 conditions at {FULL['subscribers']:,} subscribers: "
        f"{segment_ms:.1f} ms median of 5 ({segment_readers:,} readers match)"
    )
    print(table(rows))
    print(
        "q small / q big: SQL queries per request at the small and the full data set, "
        "as rendered / as served from the page cache."
    )
    if worker_rss:
        print("gunicorn worker peak memory: " + ", ".join(f"{mb:.0f} MB" for mb in worker_rss))
    total = time.perf_counter() - started
    print(f"Whole run: {total:.0f} s. Results in {RESULTS.name}.")

    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "machine": info,
                "config": {
                    "workers": WORKERS,
                    "wrk_threads": THREADS,
                    "connections": CONNECTIONS,
                    "seconds": SECONDS,
                    "data_set": FULL,
                },
                "seed_seconds": round(seed_seconds, 2),
                "segment_count_ms": round(segment_ms, 2),
                "scenarios": {
                    row.key: {
                        "label": row.label,
                        **(row.result.as_dict() if row.result else {}),
                        "bytes": row.size or None,
                        "ceiling_requests_per_second": row.ceiling_rps or None,
                        "ratio_to_ceiling": row.ratio,
                        "target": verdict(row) or None,
                        "queries_small": row.queries_small or None,
                        "queries_big": row.queries_big or None,
                        "note": row.note or None,
                        "workers_replaced": row.workers_replaced,
                    }
                    for row in rows
                },
                "smtp_ceiling": smtp,
                "newsletter": newsletter or PENDING,
                "web_worker_peak_rss_mb": worker_rss,
                "run_seconds": round(total, 1),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
