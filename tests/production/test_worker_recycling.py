"""Gunicorn as deployed loads the site once in its master and forks ready workers from it
(preload_app, with futureforward/warmup.py), and replaces each worker after a number of
requests. A replaced worker must lose nothing its predecessor held (visits counted in memory)
and a new one must start its own threads: the pushed page versions and the analytics flusher
are never shared through the fork."""

from __future__ import annotations

import pytest

from analytics.models import PostDay
from tests.factories import CommentFactory, PostFactory
from tests.production.procs import Gunicorn, Visitor, production_env, run_python, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS_PER_WORKER = 4


def browser(n: int) -> str:
    return f"Mozilla/5.0 (X11; Linux x86_64; reader {n}) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def recycling_server(production_dirs, tmp_path):
    env = production_env(
        **production_dirs,
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        # Every few requests a worker is replaced; no jitter, so the count below is exact.
        GUNICORN_MAX_REQUESTS=str(REQUESTS_PER_WORKER),
        GUNICORN_MAX_REQUESTS_JITTER="0",
        # The flusher's own turn never comes in this test: counts reach the database only
        # through a replaced worker's last flush on its way out.
        ANALYTICS_FLUSH_SECONDS="3600",
    )
    server = Gunicorn("recycling", env, tmp_path, workers=2)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def test_replaced_workers_lose_no_counted_visit_and_see_new_comments(recycling_server):
    post = PostFactory(title="A post read through many workers")
    path = f"/p/{post.slug}/"
    readers = 20

    for n in range(readers):
        page = Visitor().request(recycling_server.port, "GET", path, User_Agent=browser(n))
        assert page.status == 200
        assert "A post read through many workers" in page.text

    # A comment written elsewhere (another server, the admin) reaches the workers that were
    # forked after it as well as any still running.
    CommentFactory(post=post, body="Written while the workers were being replaced.")
    wait_until(
        lambda: (
            "Written while the workers were being replaced."
            in Visitor().request(recycling_server.port, "GET", path).text
        ),
        timeout=15,
        what="the new comment on the post page",
    )

    booted = recycling_server.output().count("Booting worker with pid")
    assert booted >= 2 + readers // (2 * REQUESTS_PER_WORKER), recycling_server.output()[-3000:]

    # Stopping flushes what the workers still alive hold; replaced ones flushed on their way out.
    recycling_server.stop()
    assert PostDay.objects.get(post=post).visitors == readers


def test_loading_the_site_leaves_no_database_connection_for_the_workers_to_share(
    production_dirs,
):
    """What the master loads is copied into every worker: a connection opened there would be
    one socket used by several processes at once."""
    result = run_python(
        "import futureforward.wsgi\n"
        "from django.db import connections\n"
        "from django.template import engines\n"
        "open_ = [c.alias for c in connections.all() if c.connection is not None]\n"
        "loader = engines['django'].engine.template_loaders[0]\n"
        "print('open:', open_, 'compiled:', len(loader.get_template_cache))\n",
        production_env(**production_dirs),
    )
    assert result.returncode == 0, result.stderr
    opened, compiled = result.stdout.strip().split(" compiled: ")
    assert opened == "open: []"
    assert int(compiled) > 50  # the project's templates, compiled before any request
