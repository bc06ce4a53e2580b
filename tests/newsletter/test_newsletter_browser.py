"""A subscriber opens the newsletter email, follows its unsubscribe link and confirms."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Subscription
from newsletter import services
from newsletter.models import NewsletterSend
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

    expect(page).to_have_url(re.compile(r"/unsubscribe/[^/]+/$"))
    expect(page.get_by_role("heading", name="Unsubscribe from Future Forward?")).to_be_visible()
    # Opening the link alone changed nothing.
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE

    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    expect(page.get_by_text(reader.email)).to_be_visible()
    assert Subscription.objects.get(user=reader).status == Subscription.Status.UNSUBSCRIBED

    page.get_by_role("button", name="Resubscribe").click()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE
