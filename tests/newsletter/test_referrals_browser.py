"""Referrals in a real browser: a friend opens a reader's link, subscribes and confirms, and the
reader's milestone reward arrives once."""

import re

import pytest
from playwright.sync_api import expect

from accounts import referrals
from accounts.models import User
from newsletter.models import ReferralMilestone
from tests.conftest import code_from_mail
from tests.factories import SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_referred_reader_confirms_and_the_milestone_email_arrives_once(
    page, live_server, settings, mailoutbox
):
    settings.SITE_URL = live_server.url
    referrer = SubscriptionFactory(user=UserFactory(email="host@example.com")).user
    ReferralMilestone.objects.create(
        count=1, subject="Your first referral!", body="Thank you for spreading the word."
    )

    page.goto(f"/r/{referrals.code_for(referrer)}/")
    expect(page).to_have_url(re.compile(r"/subscribe/\?ref="))
    page.get_by_label("Email address").fill("guest@example.com")
    page.get_by_role("button", name="Send my code").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/confirm/"))
    page.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name="Log out").first).to_be_visible()

    rewards = [m for m in mailoutbox if m.subject == "Your first referral!"]
    assert [m.to for m in rewards] == [["host@example.com"]]
    assert "Thank you for spreading the word." in rewards[0].body

    # The friend, now a reader, finds their own link on the account page.
    page.goto("/account/")
    expect(page.locator("#referral-count")).to_have_text("0")
    guest = User.objects.get(email="guest@example.com")
    expect(page.get_by_label("Your referral link")).to_have_value(referrals.referral_url(guest))

    # The same friend comes by the link again and confirms again: no second credit, no second
    # reward.
    page.context.clear_cookies()
    page.goto(f"/r/{referrals.code_for(referrer)}/")
    page.get_by_label("Email address").fill("guest@example.com")
    page.get_by_role("button", name="Send my code").click()
    page.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name="Log out").first).to_be_visible()
    assert referrals.referral_count(referrer) == 1
    assert len([m for m in mailoutbox if m.subject == "Your first referral!"]) == 1
