"""Readers in a real browser: the gate, subscribing back to the poll, voting, email links."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from polls.models import Poll, Vote
from polls.services import vote_url
from tests.browsing import log_in
from tests.conftest import code_from_mail
from tests.factories import PollFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_anonymous_reader_subscribes_from_the_gate_comes_back_and_votes(page, mailoutbox):
    poll = PollFactory(question="How do you feel about the four-day week?")
    page.goto(poll.post.get_absolute_url())
    section = page.locator(f"#poll-{poll.pk}")
    expect(section).to_contain_text("Login or Subscribe to participate in polls.")
    expect(section.get_by_role("radio")).to_have_count(0)

    section.get_by_role("link", name="Subscribe", exact=True).click()
    page.get_by_label("Email address").fill("poll.reader@example.com")
    page.get_by_role("button", name="Send my code").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/confirm/"))
    page.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/p/{poll.post.slug}/$"))
    section = page.locator(f"#poll-{poll.pk}")
    expect(section).not_to_contain_text("Login or Subscribe")
    section.get_by_label("Worried").check()
    section.get_by_role("button", name="Vote").click()

    # The thank-you line comes only with htmx's in-place answer, not with a full reload.
    expect(section).to_contain_text("Thanks, your vote is counted.")
    expect(section.locator(".poll-result.is-mine")).to_contain_text("Worried")
    expect(section.locator(".poll-result.is-mine")).to_contain_text("100%")
    expect(section).to_contain_text("1 voter")
    vote = Vote.objects.get(poll=poll)
    assert vote.user.email == "poll.reader@example.com" and vote.choice.text == "Worried"


def test_email_link_is_confirmed_by_the_page_at_once(page):
    poll = PollFactory()
    reader = UserFactory()
    choice = poll.choices.get(text="Not sure")
    url = vote_url(poll_id=poll.pk, choice_id=choice.pk, user_id=reader.pk)

    page.goto(urlsplit(url).path)

    section = page.locator(f"#poll-{poll.pk}")
    expect(section).to_contain_text("Thanks, your vote is counted.")
    expect(section.locator(".poll-result.is-mine")).to_contain_text("Not sure")
    assert Vote.objects.get(poll=poll).user == reader
    expect(page.locator(".nav-user")).to_have_count(0)  # still not logged in


def test_email_link_without_javascript_needs_one_tap(open_page):
    poll = PollFactory()
    reader = UserFactory()
    choice = poll.choices.get(text="Hopeful")
    page = open_page(java_script_enabled=False)
    page.goto(urlsplit(vote_url(poll_id=poll.pk, choice_id=choice.pk, user_id=reader.pk)).path)
    section = page.locator(f"#poll-{poll.pk}")
    expect(section.locator(".is-picked")).to_contain_text("Hopeful")
    assert not Vote.objects.exists()

    section.get_by_role("button", name="Confirm").click()

    expect(section).to_contain_text("Thanks, your vote is counted.")
    assert Vote.objects.get(poll=poll).choice == choice


def test_a_refusal_shows_in_place_with_htmx(page, live_server):
    poll = PollFactory(closes_at=timezone.now() + timedelta(hours=1))
    log_in(page.context, live_server, UserFactory())
    page.goto(poll.post.get_absolute_url())
    section = page.locator(f"#poll-{poll.pk}")
    section.get_by_label("Hopeful").check()
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    section.get_by_role("button", name="Vote").click()

    expect(section).to_contain_text("This poll is closed. The results are final.")
    expect(section.get_by_role("radio")).to_have_count(0)
    assert not Vote.objects.exists()


def test_reader_changes_their_vote_in_place(page, live_server):
    poll = PollFactory()
    reader = UserFactory()
    Vote.objects.create(poll=poll, choice=poll.choices.get(text="Hopeful"), user=reader)
    log_in(page.context, live_server, reader)
    page.goto(poll.post.get_absolute_url())
    section = page.locator(f"#poll-{poll.pk}")

    section.get_by_text("Change my vote").click()
    section.get_by_label("Worried").check()
    section.get_by_role("button", name="Change vote").click()

    expect(section).to_contain_text("Your vote is changed.")
    expect(section.locator(".poll-result.is-mine")).to_contain_text("Worried")
    assert Vote.objects.get(poll=poll).choice.text == "Worried"
