"""`FF_BENCH_SUBSCRIBERS=1000000 make bench`: the large mode, a publication of a million readers.

Not part of the default run (the seed alone takes minutes). It seeds the bench data set with
FF_BENCH_SUBSCRIBERS subscribers (seed_bench: INSERT ... SELECT generate_series, the
membership trigger included, nothing loaded into Python) and reports:
- the seed time;
- the time to start a send to all of them (rendering once and one INSERT ... SELECT of every
  delivery, committed), with no worker running yet;
- a three-condition segment count;
- the admin subscriber list: its first page and a search in it, with the SQL each ran (no
  query may count the whole table);
- the send itself over a fixed window (FF_BENCH_LARGE_SEND_SECONDS, 60): messages per second,
  CPU per message and each worker's peak memory.
Results are printed and written to bench-large-results.json.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import harness

# FF_BENCH_LARGE_SKIP_SEED=1 measures again on the data set the last large run seeded.
SKIP_SEED = os.environ.get("FF_BENCH_LARGE_SKIP_SEED", "") == "1"
WINDOW_SECONDS = float(os.environ.get("FF_BENCH_LARGE_SEND_SECONDS", "60"))
RESULTS = harness.PROJECT_DIR / "bench-large-results.json"
SEARCH = "reader0999"
# A whole address, as an editor pastes it from a reader's email: found by the unique index.
SEARCH_ADDRESS = "reader099999@bench.example"


def shown(page: str) -> int:
    """Return the length the admin's paginator gives the list ("1000000 subscriptions")."""
    found = re.search(r"(\d[\d,]*)\s+subscriptions?\b", page)
    return int(found.group(1).replace(",", "")) if found else -1


def admin_pages() -> dict:
    """Time the subscriber list's first page and a search in it, in this process through
    Django's test client as an editor; list the queries that counted rows."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import User

    editor, _created = User.objects.get_or_create(
        email="bench-editor@bench.example",
        defaults={"is_staff": True, "is_superuser": True},
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(editor)
    url = reverse("admin:accounts_subscription_changelist")
    found = {}
    for name, params in (
        ("first page", {}),
        (f"search {SEARCH!r}", {"q": SEARCH}),
        ("search a whole address", {"q": SEARCH_ADDRESS}),
    ):
        client.get(url, params)  # templates and the summary cache warmed, as for an editor
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.get(url, params)
            elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"The subscriber list answered {response.status_code}.")
        slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
        found[name] = {
            "ms": round(elapsed * 1000, 1),
            "queries": len(queries),
            "rows_shown": shown(response.content.decode()),
            "counting_queries": [
                query["sql"][:200]
                for query in queries.captured_queries
                if "COUNT(" in query["sql"].upper()
            ],
            "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
            "slowest_query": slowest["sql"][:200],
        }
    return found


def start_send() -> tuple[float, int, int]:
    """Start the big post's send to every subscriber with no worker running; return the time
    (rendering and inserting every delivery, committed), the send's id and its deliveries."""
    from django.db import transaction

    from newsletter import services
    from newsletter.models import NewsletterSend
    from posts.models import Post

    post = Post.objects.get(slug="ffbench-big-post")
    NewsletterSend.objects.filter(post=post).delete()
    began = time.perf_counter()
    with transaction.atomic():
        send = services.create_send(post=post, created_by=None, mode="full", teaser_words=150)
    return time.perf_counter() - began, send.pk, send.recipients_count


def send_window(*, env: dict, sink: harness.Sink, workers: int) -> dict:
    """Run the workers on the started send for WINDOW_SECONDS from its first message."""
    worker_env = {**env, "EMAIL_HOST": sink.host, "EMAIL_PORT": str(sink.port)}
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
        sink.wait_for_count(before + 1, timeout=300)
        first, began = sink.count(), time.perf_counter()
        cpu_before = sum(harness.cpu_seconds(process.pid) for process in processes)
        time.sleep(WINDOW_SECONDS)
        sent = sink.count() - first
        elapsed = time.perf_counter() - began
        cpu = sum(harness.cpu_seconds(process.pid) for process in processes) - cpu_before
        peaks = [harness.peak_rss_mb(process.pid) for process in processes]
    finally:
        for process in processes:
            harness.stop(process, timeout=30)
    return {
        "workers": workers,
        "window_seconds": round(elapsed, 1),
        "messages": sent,
        "messages_per_second": sent / elapsed,
        "worker_cpu_ms_per_message": cpu * 1000 / sent if sent else None,
        "worker_cpu_share": cpu / elapsed / workers,
        "worker_peak_rss_mb": [round(peak) for peak in peaks],
    }


def main(subscribers: int) -> int:
    from tests.bench import run

    started = time.perf_counter()
    info = run.machine()
    workdir = Path(tempfile.mkdtemp(prefix="ff-bench-large-"))
    database_url = harness.bench_database_url()
    harness.ensure_database(database_url)
    env = harness.production_env(secret_key=secrets.token_urlsafe(50), database_url=database_url)
    print(
        f"Future Forward bench, large mode: {subscribers:,} subscribers; {info['nproc']} cores, "
        f"load average before: {', '.join(str(n) for n in info['load_average_before'])}.\n"
    )
    run.manage(env, "migrate", "--noinput", quiet=True)
    run.manage(env, "createcachetable", quiet=True)
    run.setup_django(env)

    if not SKIP_SEED:
        print(f"Seeding {subscribers:,} subscribers (timed, reset included)...")
    sizes = {**run.FULL, "subscribers": subscribers}
    seed_seconds = float("nan") if SKIP_SEED else run.seed(env, sizes)
    from django.db import connection

    # What autovacuum does on its own a little later: the planner's statistics of the new rows.
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    analyze_seconds = time.perf_counter() - began

    segment_ms, segment_readers = run.segment_count_time()
    admin = admin_pages()
    print("Starting the send to everyone (no worker running yet)...")
    start_seconds, send_id, deliveries = start_send()
    with harness.smtp_sink(workdir) as sink:
        send = send_window(env=env, sink=sink, workers=run.WORKERS)
    from newsletter.models import NewsletterSend

    # Stop the rest of the send: the bench measured its window.
    NewsletterSend.objects.filter(pk=send_id).update(status=NewsletterSend.Status.PAUSED)

    lines = [
        f"seed, {subscribers:,} subscribers: {seed_seconds:.1f} s (seed_bench wall time, reset "
        f"of the previous bench rows included); ANALYZE after it {analyze_seconds:.1f} s",
        f"start a send to all: {start_seconds:.1f} s ({deliveries:,} deliveries inserted, "
        "render and commit included)",
        f"segment count, 3 conditions: {segment_ms:.1f} ms median of 5 ({segment_readers:,} "
        "readers match)",
    ]
    for name, page in admin.items():
        lines.append(
            f"admin subscriber list, {name}: {page['ms']:.0f} ms, {page['queries']} queries, "
            f"slowest {page['slowest_query_ms']:.0f} ms; shows {page['rows_shown']:,} "
            f"rows; counting queries: {len(page['counting_queries'])}"
        )
    lines.append(
        f"send, {send['window_seconds']:.0f} s window: {send['messages']:,} messages, "
        f"{send['messages_per_second']:.0f} messages/s with {send['workers']} workers; "
        f"{send['worker_cpu_ms_per_message'] or 0:.2f} ms worker CPU per message (each worker "
        f"had {100 * send['worker_cpu_share']:.0f}% of a core); worker peak "
        + ", ".join(f"{mb} MB" for mb in send["worker_peak_rss_mb"])
    )
    print()
    print("\n".join(lines))
    total = time.perf_counter() - started
    print(f"Whole run: {total:.0f} s. Results in {RESULTS.name}.")
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "machine": info,
                "subscribers": subscribers,
                "seed_seconds": round(seed_seconds, 1),
                "analyze_seconds": round(analyze_seconds, 1),
                "start_send_seconds": round(start_seconds, 2),
                "deliveries": deliveries,
                "segment_count_ms": round(segment_ms, 1),
                "segment_readers": segment_readers,
                "admin": admin,
                "send": send,
                "run_seconds": round(total, 1),
            },
            indent=2,
        )
    )
    return 0
