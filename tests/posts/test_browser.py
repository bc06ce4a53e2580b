"""The post page in a real browser: thumbs up in place, copy link, the anonymous invitation."""

import pytest
from playwright.sync_api import expect

from posts.models import ThumbsUp
from tests.browsing import log_in
from tests.factories import PostFactory, SubscriptionFactory, ThumbsUpFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_reader_gives_a_thumbs_up_and_sees_the_count_change(page, live_server):
    post = PostFactory(slug="browser-thumbs", title="A post worth a thumb")
    ThumbsUpFactory(post=post)
    reader = SubscriptionFactory().user
    log_in(page.context, live_server, reader)

    page.goto(post.get_absolute_url())
    count = page.locator("#thumbs-up .thumbs-number")
    button = page.get_by_role("button", name="Thumbs up")
    expect(count).to_have_text("1")
    expect(button).to_have_attribute("aria-pressed", "false")

    button.click()
    expect(count).to_have_text("2")
    expect(page.get_by_role("button", name="Thumbs up")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#thumbs-up")).to_contain_text("you included")
    # htmx swapped the box in place: no navigation to the plain form's redirect target.
    assert not page.url.endswith("#thumbs-up")
    assert ThumbsUp.objects.filter(post=post, user=reader).count() == 1

    page.get_by_role("button", name="Thumbs up").click()
    expect(count).to_have_text("1")
    expect(page.get_by_role("button", name="Thumbs up")).to_have_attribute("aria-pressed", "false")
    assert not ThumbsUp.objects.filter(post=post, user=reader).exists()

    page.reload()
    expect(page.locator("#thumbs-up .thumbs-number")).to_have_text("1")


def test_anonymous_reader_is_invited_to_log_in_or_subscribe(page):
    post = PostFactory(slug="browser-anon")
    page.goto(post.get_absolute_url())
    box = page.locator("#thumbs-up")
    expect(box.get_by_role("button")).to_have_count(0)
    expect(box.get_by_role("link", name="Login")).to_have_attribute(
        "href", "/accounts/login/code/?next=%2Fp%2Fbrowser-anon%2F%23thumbs-up"
    )
    expect(box.get_by_role("link", name="Subscribe")).to_be_visible()


def test_copy_link_copies_the_canonical_address(page, live_server):
    post = PostFactory(slug="browser-copy")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(post.get_absolute_url())
    page.get_by_role("link", name="Copy link").click()
    expect(page.locator(".copy-status")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == "http://testserver/p/browser-copy/"


def test_a_rate_limited_reader_sees_why_in_place(page, live_server, settings):
    settings.ACCOUNT_RATE_LIMITS = settings.ACCOUNT_RATE_LIMITS | {"react": "1/m/user"}
    post = PostFactory(slug="browser-limit")
    log_in(page.context, live_server, SubscriptionFactory().user)
    page.goto(post.get_absolute_url())

    page.get_by_role("button", name="Thumbs up").click()
    expect(page.locator("#thumbs-up .thumbs-number")).to_have_text("1")
    page.get_by_role("button", name="Thumbs up").click()  # the second within a minute

    expect(page.get_by_role("alert")).to_contain_text("Please wait a minute")
    expect(page.locator("#thumbs-up .thumbs-number")).to_have_text("1")
    expect(page.get_by_role("button", name="Thumbs up")).to_have_attribute("aria-pressed", "true")
