"""Counting in real browsers: each visitor once, nobody who asked not to be counted, no
crawler; an arrival through a sent email's link; a subscriber who joined from a post shown
under that post on the dashboard's growth chart."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db.models import Sum
from playwright.sync_api import expect

from accounts.models import Subscription
from analytics import counting
from analytics.models import LinkArrivalDay, PostDay, SeenVisitor
from newsletter import services
from newsletter.models import NewsletterSend
from newsletter.rendering import read_send_mark
from tests.analytics.conftest import BROWSER, CRAWLER, OTHER_BROWSER
from tests.conftest import code_from_mail
from tests.factories import PostFactory, make_subscribers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def visitors(post) -> int:
    return PostDay.objects.filter(post=post).aggregate(n=Sum("visitors"))["n"] or 0


def read(context, url):
    page = context.new_page()
    page.goto(url)
    expect(page.locator("h1")).to_be_visible()
    return page


def test_two_readers_one_of_them_reloading_count_two(open_context):
    post = PostFactory(slug="counted-twice")
    first = read(open_context(user_agent=BROWSER), post.get_absolute_url())
    first.reload()
    expect(first.locator("h1")).to_have_text(post.title)
    read(open_context(user_agent=OTHER_BROWSER), post.get_absolute_url())
    counting.flush()
    assert visitors(post) == 2


def test_do_not_track_and_a_crawler_add_nothing(open_context):
    post = PostFactory(slug="not-counted")
    read(open_context(user_agent=BROWSER, extra_http_headers={"DNT": "1"}), post.get_absolute_url())
    read(open_context(user_agent=CRAWLER), post.get_absolute_url())
    counting.flush()
    assert visitors(post) == 0
    assert not SeenVisitor.objects.exists()


def test_a_visit_through_a_link_in_a_sent_email_counts_for_that_send_and_link(
    open_context, live_server, settings, mailoutbox, editor
):
    settings.SITE_URL = live_server.url
    make_subscribers(2)
    post = PostFactory(slug="sent-by-email", body='<p>See <a href="/about/">who we are</a>.</p>')
    send = services.create_send(
        post=post, created_by=editor, mode=NewsletterSend.Mode.FULL, teaser_words=150
    )
    html = mailoutbox[0].alternatives[0][0]
    links = re.findall(rf'href="({re.escape(live_server.url)}/[^"]*ff=[^"]*)"', html)
    about = next(link for link in links if "/about/" in link).replace("&amp;", "&")
    parts = urlsplit(about)
    send_id, number = read_send_mark(parse_qs(parts.query)["ff"][0], path=parts.path)
    assert send_id == send.pk

    page = open_context(user_agent=BROWSER).new_page()
    page.goto(about)
    expect(page).to_have_url(f"{live_server.url}/about/")  # the mark is gone from the address
    counting.flush()
    arrival = LinkArrivalDay.objects.get()
    assert (arrival.send_id, arrival.link, arrival.path, arrival.visitors) == (
        send.pk,
        number,
        "/about/",
        1,
    )


def test_a_subscriber_who_joined_from_a_post_shows_under_it_on_the_growth_chart(
    open_context, mailoutbox, editor
):
    post = PostFactory(slug="converts", title="The post that converts")
    reader = open_context(user_agent=BROWSER).new_page()
    reader.goto(post.get_absolute_url())
    form = reader.locator(".subscribe-cta form")
    form.get_by_label("Email address").fill("from.a.post@example.com")
    form.get_by_role("button", name="Subscribe").click()
    expect(reader).to_have_url(re.compile(r"/accounts/login/code/confirm/"))
    reader.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    reader.get_by_role("button", name="Log in", exact=True).click()
    expect(reader.get_by_role("button", name="Log out").first).to_be_visible()
    subscription = Subscription.objects.get(user__email="from.a.post@example.com")
    assert (subscription.status, subscription.source) == ("active", f"post:{post.pk}")

    desk = open_context(editor, user_agent=BROWSER)
    page = desk.new_page()
    page.goto("/admin/")
    growth = page.locator(".ff-growth")
    expect(growth.get_by_role("img")).to_be_visible()
    row = growth.locator(".ff-sources tbody tr", has_text="The post that converts")
    expect(row.locator("td").first).to_have_text("1")
    expect(growth.locator(".ff-numbers")).to_contain_text("Subscribers now")
