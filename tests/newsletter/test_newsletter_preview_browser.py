"""The email preview in a real browser: the framed email renders with its own styles at both
widths, the page itself keeps the strict policy, and no script runs in the frame."""

import pytest
from playwright.sync_api import expect

from tests.browsing import shoot
from tests.factories import EditorFactory, PollFactory, PostFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_preview_shows_the_subscribers_email_at_desktop_and_phone_width(watch):
    post = PostFactory(title="Cities After Cars", body="<p>Trams are back.</p>")
    PollFactory(post=post, question="Would you give up your car?", choices=["Yes", "Not yet"])
    SubscriptionFactory(user__email="ada@example.com")
    watcher = watch(EditorFactory())
    page = watcher.page
    watcher.visit(f"/admin/posts/post/{post.pk}/change/")
    page.get_by_role("link", name="Preview email").click()
    page.get_by_label("As received by").fill("ada@example.com")
    page.get_by_role("button", name="Show the preview").click()
    expect(page.get_by_text("ada@example.com").first).to_be_visible()

    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Cities After Cars")).to_be_visible()
    vote = frame.get_by_role("link", name="Not yet")
    assert "/polls/email/" in vote.get_attribute("href")
    # The email's inline styles apply inside the frame: its card is white, not unstyled.
    card_padding = frame.locator("td.ff-card").evaluate("(td) => getComputedStyle(td).paddingTop")
    assert card_padding != "0px"
    desktop_width = page.locator("iframe").bounding_box()["width"]

    shoot(page, "preview-desktop", widths=(1280,))
    page.get_by_role("link", name="Phone").click()
    page.wait_for_load_state("load")
    expect(frame.get_by_role("heading", name="Cities After Cars")).to_be_visible()
    assert page.locator("iframe").bounding_box()["width"] < desktop_width
    # 375 px of email inside a 1 px border.
    assert page.locator("iframe").bounding_box()["width"] <= 377
    shoot(page, "preview-phone", widths=(1280, 375))
    expect(page.get_by_text("Plain-text part")).to_be_visible()

    # Dark mode: the email's own dark rules, as a mail client in dark mode applies them.
    page.set_viewport_size({"width": 1280, "height": 900})
    light_card = frame.locator("td.ff-card").evaluate(
        "(td) => getComputedStyle(td).backgroundColor"
    )
    page.get_by_role("link", name="Dark mode").click()
    page.wait_for_load_state("load")
    expect(frame.get_by_role("heading", name="Cities After Cars")).to_be_visible()
    dark_card = frame.locator("td.ff-card").evaluate("(td) => getComputedStyle(td).backgroundColor")
    assert dark_card != light_card
    shoot(page, "preview-dark-phone-1280")
    watcher.assert_clean("email preview")
    watcher.close()
