"""Search: ranked full-text results with safe highlights; odd input never breaks the page."""

from http import HTTPStatus

import pytest
from django.db import connection

from posts.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def titles(client, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == HTTPStatus.OK
    return [post.title for post in response.context["posts"]]


def test_title_outranks_subtitle_outranks_body(client):
    PostFactory(title="Budget news", subtitle="Nothing", body="<p>The tram line opened.</p>")
    PostFactory(title="City news", subtitle="A tram for the suburbs", body="<p>Other.</p>")
    PostFactory(title="Trams are back", subtitle="Nothing", body="<p>Other.</p>")
    assert titles(client, "tram") == ["Trams are back", "City news", "Budget news"]


def test_only_published_posts_are_found(client):
    PostFactory(title="Published tides")
    PostFactory(title="Draft tides", status=Post.Status.DRAFT, published_at=None)
    assert titles(client, "tides") == ["Published tides"]


def test_stemming_phrases_and_exclusions(client):
    PostFactory(title="Cycling to work", body="<p>Bike lanes and safe junctions.</p>")
    PostFactory(title="Walking to work", body="<p>Pavements and safe crossings.</p>")
    assert titles(client, "cycle") == ["Cycling to work"]  # stems match
    assert titles(client, '"safe junctions"') == ["Cycling to work"]
    assert titles(client, "work -bike") == ["Walking to work"]
    assert set(titles(client, "junctions or crossings")) == {"Cycling to work", "Walking to work"}


def test_results_highlight_matches_in_title_and_snippet(client):
    PostFactory(title="Heat pumps explained", body="<p>A heat pump moves heat uphill.</p>")
    html = client.get("/search/", {"q": "heat pump"}).content.decode()
    assert "<mark>Heat</mark> <mark>pumps</mark> explained" in html
    assert "<mark>heat</mark> <mark>pump</mark> moves <mark>heat</mark> uphill" in html
    assert "1 result for “heat pump”" in html


def test_highlighting_escapes_everything_but_the_marks(client):
    PostFactory(
        title="<b>Bold</b> claims about <script>alert(1)</script> scripts",
        body="<p>Text with &lt;img src=x onerror=alert(1)&gt; and scripts inside.</p>",
    )
    html = client.get("/search/", {"q": "scripts"}).content.decode()
    results = html.split('class="search-results"', 1)[1].split("</ol>", 1)[0]
    assert "<mark>scripts</mark>" in results
    assert "<script>" not in results and "<b>" not in results and "<img" not in results
    assert "&lt;script&gt;" in results and "&lt;img src=x onerror=alert(1)&gt;" in results


def test_subscribers_only_posts_are_found_but_their_body_does_not_leak(client):
    PostFactory(
        title="Members briefing",
        subtitle="The outlook for members",
        body="<p>Confidential members forecast details.</p>",
        audience=Post.Audience.SUBSCRIBERS,
    )
    html = client.get("/search/", {"q": "members"}).content.decode()
    assert "Members briefing" in html.replace("<mark>", "").replace("</mark>", "")
    assert "forecast" not in html and "Confidential" not in html


ODD_QUERIES = [
    "",
    "   ",
    "a" * 10_000,
    "word " * 2_000,
    '"',
    '"""',
    "'",
    "((((",
    "a & b | !c <-> d",
    ":*",
    "-",
    "OR",
    "or or or",
    "the",
    "'; DROP TABLE posts_post; --",
    "1' OR '1'='1",
    "%_\\",
    "\x00",
    "nul\x00byte",
    "ünïcödé 漢字 🚀 مرحبا",
    "<script>alert(1)</script>",
    "\u202e\u200b",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_input_gives_results_or_no_results_never_an_error(client, query):
    PostFactory(title="A post about the drop in tables")
    response = client.get("/search/", {"q": query})
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    if query.strip("\x00 "):
        assert 'role="status"' in html  # "N results" or "No results"
    with connection.cursor() as cursor:  # and the table is, of course, still there
        cursor.execute("SELECT count(*) FROM posts_post")
        assert cursor.fetchone()[0] == 1


def test_the_query_is_echoed_escaped_and_bounded(client):
    response = client.get("/search/", {"q": '<i>"nothing"</i> ' + "x" * 500})
    html = response.content.decode()
    assert "No results for “&lt;i&gt;&quot;nothing&quot;&lt;/i&gt;" in html
    assert len(response.context["query"]) == 200
    assert 'value="&lt;i&gt;&quot;nothing&quot;&lt;/i&gt; xxx' in html


def test_search_results_page_through(client):
    for n in range(12):
        PostFactory(title=f"Solar report {n}")
    first = client.get("/search/", {"q": "solar"})
    assert len(first.context["posts"]) == 10
    assert 'href="?q=solar&amp;page=2"' in first.content.decode()
    assert len(client.get("/search/", {"q": "solar", "page": 2}).context["posts"]) == 2
    assert client.get("/search/", {"q": "solar", "page": 3}).status_code == 404


def test_search_uses_the_gin_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'posts_post' "
            "AND indexname = 'posts_post_search_gin'"
        )
        (definition,) = cursor.fetchone()
    assert "USING gin (search_vector)" in definition
