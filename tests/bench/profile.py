"""Where the time goes during a web scenario of `make bench` (FF_BENCH_PROFILE=1).

For each scenario run, while wrk drives the site:
- py-spy samples every gunicorn worker (collapsed stacks, `--format raw`), and the summary
  lists the functions seen in the most samples (inclusive), so "Python time per request" is a
  share of the worker's samples rather than a guess;
- a thread samples pg_stat_activity every 20 ms for the bench database's busy backends (what
  each waits on: a lock, the WAL flush of a commit, the client, nothing) and counts ungranted
  locks in pg_locks by the kind of object;
- pg_stat_database and pg_stat_wal give commits and WAL flushes over the run.

The embedded PostgreSQL (pgserver) ships without the pg_stat_statements extension, so
statement times are not collected here; the query counts per request come from
`query_counts` in run.py.

Nothing here asserts anything: it writes files beside bench-results.json and prints headlines.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def available() -> bool:
    return Path(PY_SPY).exists()


@contextlib.contextmanager
def py_spy(pids: list[int], out: Path, seconds: float):
    """Record each pid with py-spy for `seconds` (nonblocking: the worker is never paused)."""
    processes = []
    for pid in pids:
        processes.append(
            subprocess.Popen(  # noqa: S603
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(max(1, round(seconds))),
                    "--rate",
                    "200",
                    "--nonblocking",
                    # Waiting on PostgreSQL counts too: it is where a write's time may go.
                    "--idle",
                    "--format",
                    "raw",
                    "--output",
                    str(out.parent / f"{out.name}.{pid}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        yield
    finally:
        for process in processes:
            try:
                process.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                process.kill()


def _name(frame: str) -> str:
    """'function (path/to/file.py:12)' as 'function (to/file.py)': lines vary, files do not."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{function} ({'/'.join(path.split('/')[-2:])})"


def top_frames(
    files: list[Path], *, limit: int = 25, anchor: str = "handle_request"
) -> tuple[int, list[tuple[str, float]]]:
    """Return (request samples, [(frame, share of them that include it)]) from raw py-spy
    files, counting only samples inside a request (gunicorn's handle_request, or `anchor`:
    a send connection's `_claim_and_deliver`), so the shares are of the time spent serving
    requests, waiting on PostgreSQL included."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit() or anchor not in stack:
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            start = next(i for i, frame in enumerate(frames) if anchor in frame)
            for name in {_name(frame) for frame in frames[start + 1 :]}:
                inclusive[name] += n
    rows = [(frame, count / total) for frame, count in inclusive.most_common(limit)]
    return total, rows


class DatabaseSampler(threading.Thread):
    """Samples what the bench database's backends wait on while a scenario runs."""

    def __init__(self, database_url: str, *, every: float = 0.02):
        super().__init__(daemon=True)
        self.url = database_url
        self.every = every
        self.stop_event = threading.Event()
        self.waits: collections.Counter[str] = collections.Counter()
        self.locks: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self.before: dict = {}
        self.after: dict = {}

    def _connect(self):
        import dj_database_url
        import psycopg

        settings = dj_database_url.parse(self.url)
        return psycopg.connect(
            dbname=settings["NAME"],
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            user=settings["USER"] or None,
            autocommit=True,
        )

    def _totals(self, conn) -> dict:
        commits, rollbacks = conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = "
            "current_database()"
        ).fetchone()
        wal = conn.execute("SELECT wal_records, wal_sync, wal_write FROM pg_stat_wal").fetchone()
        return {
            "commits": commits,
            "rollbacks": rollbacks,
            "wal_records": wal[0],
            "wal_syncs": wal[1],
            "wal_writes": wal[2],
            "at": time.perf_counter(),
        }

    def run(self) -> None:
        with self._connect() as conn:
            self.before = self._totals(conn)
            me = conn.info.backend_pid
            while not self.stop_event.is_set():
                rows = conn.execute(
                    "SELECT state, coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '') "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s "
                    "AND backend_type = 'client backend'",
                    [me],
                ).fetchall()
                for state, kind, event in rows:
                    if state == "active":
                        self.waits[f"active: {kind} {event}".strip()] += 1
                    elif state == "idle in transaction":
                        self.waits["idle in transaction (Python between statements)"] += 1
                for locktype, relation in conn.execute(
                    "SELECT l.locktype, coalesce(c.relname, l.transactionid::text, '') "
                    "FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation "
                    "WHERE NOT l.granted"
                ).fetchall():
                    self.locks[f"{locktype} {relation}".strip()] += 1
                self.samples += 1
                time.sleep(self.every)
            self.after = self._totals(conn)

    def stop(self) -> dict:
        self.stop_event.set()
        self.join(timeout=10)
        seconds = (self.after.get("at", 0) - self.before.get("at", 0)) or 1
        delta = {
            key: self.after.get(key, 0) - self.before.get(key, 0)
            for key in ("commits", "rollbacks", "wal_records", "wal_syncs", "wal_writes")
        }
        return {
            "samples": self.samples,
            "seconds": round(seconds, 1),
            "busy_backends_per_sample": {
                key: round(count / max(self.samples, 1), 3)
                for key, count in self.waits.most_common()
            },
            "ungranted_locks_per_sample": {
                key: round(count / max(self.samples, 1), 3)
                for key, count in self.locks.most_common()
            },
            **{f"{key}_per_second": round(value / seconds, 1) for key, value in delta.items()},
        }


@contextlib.contextmanager
def profiled(
    key: str,
    *,
    pids: list[int],
    database_url: str,
    seconds: float,
    directory: Path,
    anchor: str = "handle_request",
):
    """Profile one scenario run of about `seconds`; print and keep its headlines."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(f"{key}.py-spy.*.txt"):
        stale.unlink()  # an earlier run's workers (files are named by pid): not this run's
    sampler = DatabaseSampler(database_url)
    sampler.start()
    out = directory / f"{key}.py-spy"
    result: dict = {}
    try:
        with py_spy(pids, out, seconds):
            yield result
    finally:
        database = sampler.stop()
        total, frames = top_frames(sorted(directory.glob(f"{key}.py-spy.*.txt")), anchor=anchor)
        result.update({"python_samples": total, "top_frames": frames, "database": database})
        lines = [f"--- profile: {key} ({total} samples over {len(pids)} workers)"]
        lines += [f"  {share * 100:5.1f}%  {frame}" for frame, share in frames]
        lines.append(f"  database: {database}")
        text = "\n".join(lines)
        (directory / f"{key}.summary.txt").write_text(text + "\n")
        print(text)
