"""An anonymous reader's tap on a poll choice leads through subscribing and back to the post
with that answer ready, and the "signed in" message is in view (no jump to the poll)."""

import re

import pytest
from playwright.sync_api import expect

from polls.models import Vote
from tests.conftest import code_from_mail
from tests.factories import PollFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_tapping_a_choice_keeps_it_through_subscribe_and_code(page, mailoutbox):
    poll = PollFactory(question="How do you feel about the four-day week?")
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(poll.post.get_absolute_url())
    section = page.locator(f"#poll-{poll.pk}")

    section.get_by_role("link", name="Worried").click()
    expect(page).to_have_url(re.compile(r"/subscribe/\?next="))
    page.get_by_label("Email address").fill("picker@example.com")
    page.get_by_role("button", name="Send my code").click()
    page.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/p/{poll.post.slug}/\?pick=\d+$"))
    expect(page.locator(".messages")).to_be_in_viewport()
    section = page.locator(f"#poll-{poll.pk}")
    expect(section.get_by_label("Worried")).to_be_checked()
    expect(section).to_contain_text("Your answer is ready. Press Vote to count it.")
    section.get_by_role("button", name="Vote").click()
    expect(section.locator(".poll-result.is-mine")).to_contain_text("Worried")
    assert Vote.objects.get(poll=poll).choice.text == "Worried"
