"""Counting post visitors and email arrivals: once per visitor, post and day, without the people
who asked not to be counted, crawlers, editors or forged marks; exact when flushes race."""

from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db.models import Sum

from analytics import counting
from analytics.models import LinkArrivalDay, PostDay, ReferrerDay, SeenVisitor
from newsletter import services
from newsletter.models import NewsletterSend
from newsletter.rendering import Rendered, mark_send_links, read_send_mark
from tests.analytics.conftest import BROWSER, CRAWLER, OTHER_BROWSER, site_links, visit
from tests.concurrency import failures, run_at_once
from tests.factories import EditorFactory, PostFactory, make_subscribers

pytestmark = pytest.mark.django_db


def mark_of(url: str):
    """Return (send, link) read from a marked link, as the site reads it."""
    parts = urlsplit(unescape(url))
    return read_send_mark(parse_qs(parts.query)["ff"][0], path=parts.path)


def visitors(post) -> int:
    return PostDay.objects.filter(post=post).aggregate(n=Sum("visitors"))["n"] or 0


def test_two_readers_one_of_them_twice_count_two(client):
    post = PostFactory()
    assert visit(client, post.get_absolute_url()).status_code == 200
    visit(client, post.get_absolute_url())
    visit(client, post.get_absolute_url(), browser=OTHER_BROWSER, address="198.51.100.4")
    counting.flush()
    assert visitors(post) == 2
    assert PostDay.objects.get(post=post).day == counting.today()


def test_a_flood_from_one_client_counts_once_across_flushes(client):
    post = PostFactory()
    for _ in range(30):
        visit(client, post.get_absolute_url())
    counting.flush()
    for _ in range(30):
        visit(client, post.get_absolute_url())
    counting.flush()
    assert visitors(post) == 1


def test_the_same_reader_counts_once_per_post(client):
    first, second = PostFactory(), PostFactory()
    visit(client, first.get_absolute_url())
    visit(client, second.get_absolute_url())
    counting.flush()
    assert visitors(first) == visitors(second) == 1


@pytest.mark.parametrize(
    "headers",
    [{"DNT": "1"}, {"Sec-GPC": "1"}, {"browser": CRAWLER}, {"browser": ""}],
    ids=["do-not-track", "global-privacy-control", "crawler", "no-browser-string"],
)
def test_who_asked_not_to_be_counted_and_crawlers_add_nothing(client, headers):
    post = PostFactory()
    response = visit(client, post.get_absolute_url(), **headers)
    assert response.status_code == 200
    counting.flush()
    assert visitors(post) == 0
    assert not SeenVisitor.objects.exists()


def test_editors_reading_their_own_site_are_not_counted(client):
    post = PostFactory()
    client.force_login(EditorFactory())
    visit(client, post.get_absolute_url())
    counting.flush()
    assert visitors(post) == 0


def test_pages_that_are_not_found_and_other_pages_count_nothing(client):
    post = PostFactory()
    visit(client, "/p/no-such-post/")
    visit(client, "/")
    counting.flush()
    assert not PostDay.objects.exists()
    assert visitors(post) == 0


def test_only_the_referring_sites_host_is_kept(client):
    post = PostFactory()
    visit(client, post.get_absolute_url(), Referer="https://news.example.org/item?id=42&u=me")
    visit(
        client,
        post.get_absolute_url(),
        browser=OTHER_BROWSER,
        Referer="http://testserver/",  # from this site itself: not a source
    )
    counting.flush()
    assert list(ReferrerDay.objects.values_list("host", "visitors")) == [("news.example.org", 1)]


def test_a_page_served_from_the_page_cache_is_counted_too(client):
    post = PostFactory()
    visit(client, post.get_absolute_url())  # rendered and stored
    response = visit(client, post.get_absolute_url(), browser=OTHER_BROWSER)  # from the cache
    assert response.status_code == 200
    counting.flush()
    assert visitors(post) == 2


# --- Arrivals from a send ---


@pytest.fixture
def sent(editor, mailoutbox, settings, django_capture_on_commit_callbacks):
    """A post sent to three subscribers; returns (send, the first reader's email HTML)."""
    settings.NEWSLETTER_RETRY_SECONDS = 0
    make_subscribers(3)
    post = PostFactory(body='<p>Read <a href="/about/">about us</a>.</p>')
    with django_capture_on_commit_callbacks(execute=True):
        send = services.create_send(
            post=post, created_by=editor, mode=NewsletterSend.Mode.FULL, teaser_words=150
        )
    html = mailoutbox[0].alternatives[0][0]
    return send, html


def test_every_reader_gets_the_same_marks_so_nobody_is_told_apart(sent, mailoutbox):
    send, _ = sent
    marks = {tuple(site_links(m.alternatives[0][0])) for m in mailoutbox}
    assert len(marks) == 1  # three readers, one set of links
    links = site_links(mailoutbox[0].alternatives[0][0])
    assert links
    assert [mark_of(url) for url in links][0] == (send.pk, 1)


def test_a_landing_through_an_email_link_counts_for_that_send_and_link(client, sent):
    send, html = sent
    about = next(url for url in site_links(html) if "/about/" in url)
    target = unescape(about).removeprefix("http://testserver")
    number = mark_of(about)[1]
    response = visit(client, target)
    assert response.status_code == 302
    assert response["Location"] == "/about/"  # the plain address: a shared copy counts nothing
    visit(client, target)  # the same reader again
    visit(client, target, browser=OTHER_BROWSER, address="198.51.100.9")
    counting.flush()
    arrival = LinkArrivalDay.objects.get(send=send)
    assert (arrival.link, arrival.path, arrival.visitors) == (number, "/about/", 2)


def test_forged_or_altered_marks_are_ignored(client, sent):
    send, html = sent
    url = unescape(site_links(html)[0]).removeprefix("http://testserver")
    path, _, mark = url.partition("?ff=")
    value, _, signature = mark.replace("%3A", ":").partition(":")
    forged = [
        f"{path}?ff={send.pk}.1",  # no signature
        f"{path}?ff={send.pk + 1}.1:{signature}",  # another send under this one's signature
        f"{path}?ff={value}:{signature[:-2]}xx",  # altered signature
        f"{path}?ff=%00%FF",
    ]
    for address, target in enumerate(forged):
        response = visit(client, target, address=f"192.0.2.{address + 1}")
        assert response.status_code == 302 and response["Location"] == path
    # A real mark moved to another page (say, one whose address holds a reader's token).
    moved = visit(client, f"/unsubscribe/a-token/?ff={mark}", address="192.0.2.99")
    assert moved.status_code == 302 and moved["Location"] == "/unsubscribe/a-token/"
    counting.flush()
    assert not LinkArrivalDay.objects.exists()


@pytest.mark.parametrize("path", ["//elsewhere.example/", "/\\elsewhere.example/"])
def test_the_redirect_after_an_arrival_stays_on_the_site(client, path):
    # The test client would read "//host/" as a host; a server hands the path over as it came.
    response = client.get("/", PATH_INFO=path, QUERY_STRING="ff=1.1:forged")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_link_scanner_looking_with_head_is_not_an_arrival(client, sent):
    send, html = sent
    target = unescape(site_links(html)[0]).removeprefix("http://testserver")
    assert client.head(target, headers={"User-Agent": BROWSER}).status_code == 302
    counting.flush()
    assert not LinkArrivalDay.objects.exists()


def test_marks_keep_the_links_own_query_and_fragment():
    rendered = mark_send_links(
        Rendered(
            subject="s",
            html='<a href="http://testserver/p/x/?a=1&amp;b=2#c">x</a>'
            '<a href="https://elsewhere.example/">y</a><a href="%%FF:unsubscribe%%">u</a>',
            text="See http://testserver/p/x/?a=1&b=2#c. Or https://elsewhere.example/.",
        ),
        send_id=7,
    )
    (href,) = site_links(rendered.html)
    parts = urlsplit(unescape(href))
    assert parts.path == "/p/x/" and parts.fragment == "c"
    assert parts.query.startswith("a=1&b=2&ff=7.1")
    assert 'href="https://elsewhere.example/"' in rendered.html
    assert "%%FF:unsubscribe%%" in rendered.html
    assert "http://testserver/p/x/?a=1&b=2&ff=7.1%3A" in rendered.text  # same link, same number
    assert "https://elsewhere.example/." in rendered.text


# --- Several processes flushing at once ---


@pytest.mark.django_db(transaction=True)
def test_rollups_stay_exact_when_processes_flush_at_once():
    """Eight writers (as eight server processes would) flush overlapping visitors of two posts
    at the same moment: each visitor is counted once, and no write is lost or deadlocks."""
    first, second = PostFactory(slug="race-one"), PostFactory(slug="race-two")
    day = counting.today()

    def batch(index):
        taken = {}
        for slug in ("race-one", "race-two"):
            # Writer i saw visitors i*10 .. i*10+39: every visitor is seen by up to four writers.
            taken[("p", slug, day)] = {f"{n:032x}": "" for n in range(index * 10, index * 10 + 40)}
        return counting._write(taken)

    outcomes = run_at_once(8, batch)
    assert not failures(outcomes)
    unique = len(range(0, 7 * 10 + 40))
    assert sum(outcomes) == 2 * unique
    assert visitors(first) == visitors(second) == unique


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_then_flushes_count_each_reader_once(client):
    post = PostFactory(slug="race-requests")
    from django.test import Client

    def reader(index):
        browser = Client()
        for _ in range(3):
            visit(browser, post.get_absolute_url(), address=f"192.0.2.{index % 5 + 1}")
        return counting.flush()

    outcomes = run_at_once(10, reader)
    assert not failures(outcomes)
    counting.flush()
    assert visitors(post) == 5


def test_behind_a_proxy_readers_are_told_apart_by_the_address_the_proxy_saw(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    post = PostFactory()
    proxy = "10.0.0.1"
    visit(client, post.get_absolute_url(), address=proxy, **{"X-Forwarded-For": "198.51.100.1"})
    visit(client, post.get_absolute_url(), address=proxy, **{"X-Forwarded-For": "198.51.100.2"})
    # A client writing its own header in front changes nothing: the proxy's entry is last.
    visit(
        client,
        post.get_absolute_url(),
        address=proxy,
        **{"X-Forwarded-For": "203.0.113.99, 198.51.100.2"},
    )
    counting.flush()
    assert visitors(post) == 2


def test_a_reader_whose_browser_kept_the_page_counts_on_a_new_day(client):
    post = PostFactory()
    first = visit(client, post.get_absolute_url())
    counting.flush()
    # The next day (yesterday's hashes are gone), the browser asks whether its copy is current.
    SeenVisitor.objects.all().delete()
    again = visit(client, post.get_absolute_url(), **{"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    counting.flush()
    assert visitors(post) == 2


def test_the_open_pixel_is_only_in_emails_when_turned_on(sent, mailoutbox, settings):
    send, html = sent
    assert "/o/" not in html and "<img" not in html.split("</table>")[-1]
    settings.ANALYTICS_EMAIL_OPENS = True
    rendered = mark_send_links(
        Rendered(subject="s", html="<html><body><p>x</p></body></html>", text="x"),
        send_id=send.pk,
        open_pixel=settings.ANALYTICS_EMAIL_OPENS,
    )
    assert f'<img src="http://testserver/o/{send.pk}.0:' in rendered.html
