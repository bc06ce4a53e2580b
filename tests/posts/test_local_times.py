"""Times show in the reader's own time zone; without JavaScript, in UTC, saying so."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import PollFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_poll_opening_time_is_shown_in_the_readers_time_zone(open_page, live_server):
    opens = datetime(timezone.now().year + 2, 1, 15, 14, 30, tzinfo=UTC)
    poll = PollFactory(opens_at=opens, closes_at=opens + timedelta(days=7))
    url = live_server.url + poll.post.get_absolute_url()

    page = open_page(timezone_id="America/New_York", locale="en-US")
    page.goto(url)
    when = page.locator(f"#poll-{poll.pk} time")
    expect(when).to_contain_text("09:30")
    expect(when).to_contain_text("EST")
    assert when.get_attribute("datetime") == opens.strftime("%Y-%m-%dT%H:%M:%SZ")

    page = open_page(timezone_id="America/New_York", java_script_enabled=False)
    page.goto(url)
    expect(page.locator(f"#poll-{poll.pk} time")).to_have_text(f"15 Jan {opens.year}, 14:30 UTC")
