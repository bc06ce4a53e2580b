"""A subscriber opens the newsletter email, follows its unsubscribe link and confirms: the link
leaves that newsletter; the page it lands on also unsubscribes from everything, and undoes it."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Subscription
from newsletter import services
from newsletter.models import Membership, Newsletter, NewsletterSend
from tests.factories import PostFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_reader_unsubscribes_from_the_email_and_comes_back(page, live_server, settings, mailoutbox):
    settings.SITE_URL = live_server.url
    reader = SubscriptionFactory().user
    services.create_send(
        post=PostFactory(title="The Four-Day Week"),
        created_by=None,
        mode=NewsletterSend.Mode.FULL,
        teaser_words=150,
    )
    (message,) = mailoutbox
    assert message.to == [reader.email]

    # Open the email as a mail app would show it, and use its own link.
    page.set_content(message.alternatives[0][0])
    expect(page.get_by_role("heading", name="The Four-Day Week")).to_be_visible()
    page.get_by_role("link", name="Unsubscribe").click()

    expect(page).to_have_url(re.compile(r"/newsletter/leave/[^/]+/$"))
    name = Newsletter.objects.default().name
    expect(page.get_by_role("heading", name=f"Unsubscribe from {name}?")).to_be_visible()
    # Opening the link alone changed nothing.
    assert Membership.objects.get(user=reader).status == Membership.Status.SUBSCRIBED

    page.get_by_role("button", name=f"Unsubscribe from {name}").click()
    expect(page.get_by_role("heading", name=f"You left {name}")).to_be_visible()
    expect(page.get_by_text(reader.email)).to_be_visible()
    assert Membership.objects.get(user=reader).status == Membership.Status.UNSUBSCRIBED
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE

    page.get_by_role("button", name="Unsubscribe from everything").click()
    expect(page.get_by_text("You are unsubscribed from everything").first).to_be_visible()
    assert Subscription.objects.get(user=reader).status == Subscription.Status.UNSUBSCRIBED

    page.get_by_role("button", name="Resubscribe").click()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE
