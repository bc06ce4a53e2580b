"""A welcome step's email preview in a real browser: from the step on the newsletter's page to
the framed email, which shows the step's subject and body with the reader's own links, light and
dark, while the page keeps the strict policy."""

import pytest
from playwright.sync_api import expect

from newsletter.links import manage_url
from newsletter.models import Newsletter, WelcomeStep
from tests.browsing import screenshots_folder, shoot
from tests.factories import EditorFactory, SubscriptionFactory, ensure_default_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_preview_a_welcome_step_as_a_reader_gets_it(watch):
    ensure_default_newsletter()
    newsletter = Newsletter.objects.default()
    step = WelcomeStep.objects.create(
        newsletter=newsletter,
        position=5,
        subject="Three things to read first",
        body="<p>Start with our guide to car-free streets, then the tram map.</p>",
    )
    reader = SubscriptionFactory(user__email="ada@example.com").user
    watcher = watch(EditorFactory())
    page = watcher.page
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher.visit(f"/admin/newsletter/newsletter/{newsletter.pk}/change/")
    link = page.locator(f'a[href$="/welcome-step/{step.pk}/preview/"]')
    expect(link).to_have_text("Preview this email as a reader gets it")
    if screenshots_folder():
        link.scroll_into_view_if_needed()
        shoot(page, "welcome-step-inline-1280", full_page=False)
    link.click()
    page.wait_for_load_state("load")
    page.get_by_label("As received by").fill("ada@example.com")
    page.get_by_role("button", name="Show the preview").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("cell", name="ada@example.com")).to_be_visible()

    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Three things to read first")).to_be_visible()
    expect(frame.get_by_text("Start with our guide to car-free streets")).to_be_visible()
    manage = frame.get_by_role("link", name="Manage your subscription")
    assert manage.get_attribute("href") == manage_url(reader.pk)
    expect(page.get_by_text("Plain-text part")).to_be_visible()
    shoot(page, "welcome-preview-1280")

    light_card = frame.locator("td.ff-card").evaluate(
        "(td) => getComputedStyle(td).backgroundColor"
    )
    page.get_by_role("link", name="Dark mode").click()
    page.wait_for_load_state("load")
    expect(frame.get_by_role("heading", name="Three things to read first")).to_be_visible()
    dark_card = frame.locator("td.ff-card").evaluate("(td) => getComputedStyle(td).backgroundColor")
    assert dark_card != light_card

    page.set_viewport_size({"width": 375, "height": 800})
    page.get_by_role("link", name="Phone").click()
    page.wait_for_load_state("load")
    expect(frame.get_by_text("Start with our guide to car-free streets")).to_be_visible()
    assert page.locator("iframe").bounding_box()["width"] <= 377
    if screenshots_folder():
        # Chromium paints no frame outside the viewport, and a full-page screenshot does not
        # scroll: a viewport as tall as the page gets the framed email into the picture.
        page.set_viewport_size({"width": 375, "height": 2100})
        expect(frame.get_by_text("Start with our guide to car-free streets")).to_be_visible()
        shoot(page, "welcome-preview-dark-375")
    watcher.assert_clean("welcome step preview")
    watcher.close()
