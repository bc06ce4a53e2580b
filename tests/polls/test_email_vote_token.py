"""An email vote link's signed token leaves the address bar and every Referer once used, and the
page says what it did."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from polls.models import Vote
from polls.services import vote_url
from tests.factories import PollFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_with_javascript_the_token_leaves_the_address_bar_and_the_page_says_so(page):
    poll = PollFactory()
    reader = UserFactory()
    choice = poll.choices.get(text="Not sure")
    referers = []
    page.on("request", lambda request: referers.append(request.headers.get("referer") or ""))

    response = page.goto(
        urlsplit(vote_url(poll_id=poll.pk, choice_id=choice.pk, user_id=reader.pk)).path
    )

    expect(page.get_by_text("Your vote from our email is counted.")).to_be_visible()
    section = page.locator(f"#poll-{poll.pk}")
    expect(section.locator(".poll-result.is-mine")).to_contain_text("Not sure")
    assert Vote.objects.get(poll=poll).user == reader
    assert "vote=" not in page.url
    assert response.headers["referrer-policy"] == "strict-origin"
    assert referers and not [r for r in referers if "vote=" in r or "/polls/email/" in r]
    # A reload (or a copy of the address) is an ordinary page: nobody's vote is shown.
    page.reload()
    expect(section.locator(".poll-result.is-mine")).to_have_count(0)


def test_without_javascript_the_confirm_tap_lands_on_an_address_without_the_token(open_page):
    poll = PollFactory()
    reader = UserFactory()
    choice = poll.choices.get(text="Hopeful")
    page = open_page(java_script_enabled=False)
    response = page.goto(
        urlsplit(vote_url(poll_id=poll.pk, choice_id=choice.pk, user_id=reader.pk)).path
    )
    assert response.headers["referrer-policy"] == "strict-origin"
    section = page.locator(f"#poll-{poll.pk}")
    section.get_by_role("button", name="Confirm").click()

    expect(page.get_by_text("Your vote from our email is counted.")).to_be_visible()
    expect(section.locator(".poll-result.is-mine")).to_contain_text("Hopeful")
    assert "vote=" not in page.url
    assert Vote.objects.get(poll=poll).choice == choice
