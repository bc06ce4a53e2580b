"""The editors' integration pages in a real browser, at 1280 px: creating an API key (shown
once) and reading a webhook's delivery log. Screenshots go to FF_SCREENSHOT_DIR when it is set
(the README's come from there), else to the test's temporary folder."""

import json
import os
import re
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from integrations.services import create_endpoint, emit_event
from tests.factories import EditorFactory, PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def shots(tmp_path) -> Path:
    return Path(os.environ.get("FF_SCREENSHOT_DIR") or tmp_path)


@pytest.fixture
def editor_page(browser, live_server):
    client = Client()
    client.force_login(EditorFactory(display_name="Morgan"))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_api_key_is_created_and_shown_once(editor_page, live_server, shots):
    page = editor_page
    page.goto("/admin/integrations/apikey/add/")
    page.get_by_label("Name").fill("Website widget")
    page.get_by_label("Create pending subscriptions").check()
    page.get_by_role("button", name="Save", exact=True).click()

    shown = page.locator("#secret")
    expect(shown).to_have_value(re.compile(r"^ffk_[0-9a-f]{12}_[\w-]{43}$"))
    key = shown.input_value()
    page.screenshot(path=shots / "api-key-created-1280.png", full_page=True)
    assert ApiKey.objects.authenticate(key).scopes == ["subscribers:write"]

    page.get_by_role("link", name="Done, I have copied it").click()
    expect(page.get_by_role("link", name="Website widget")).to_be_visible()
    assert key not in page.content()
    page.get_by_role("link", name="Website widget").click()
    assert key not in page.content()


def test_webhook_delivery_log(
    editor_page, receiver, loopback_hooks, settings, shots, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    endpoint = WebhookEndpoint(
        url=receiver.url,
        description="CRM sync",
        events=[WebhookEvent.POST_PUBLISHED, WebhookEvent.SUBSCRIBER_CONFIRMED],
    )
    create_endpoint(endpoint=endpoint)
    post = PostFactory(title="Cities after cars")
    receiver.answers = [500, 500, 200, 200]
    emit_event(event=WebhookEvent.POST_PUBLISHED, data={"id": post.pk, "title": post.title})
    emit_event(event=WebhookEvent.SUBSCRIBER_CONFIRMED, data={"id": 1})

    page = editor_page
    page.goto("/admin/integrations/webhookdelivery/")
    expect(page.locator("#result_list").get_by_text("Delivered")).to_have_count(2)
    page.screenshot(path=shots / "webhook-deliveries-1280.png", full_page=True)

    delivery = WebhookDelivery.objects.get(event=WebhookEvent.POST_PUBLISHED)
    page.goto(f"/admin/integrations/webhookdelivery/{delivery.pk}/change/")
    attempts = page.locator("#attempt_log-group tbody tr.has_original")
    expect(attempts).to_have_count(3)
    expect(page.locator("#attempt_log-group")).to_contain_text("receiver broke")
    page.screenshot(path=shots / "webhook-delivery-log-1280.png", full_page=True)


@pytest.mark.parametrize("width", [375, 1280])
def test_export_page_downloads_the_ghost_file(browser, live_server, shots, width, tmp_path):
    from accounts.models import Subscription
    from tests.factories import SubscriptionFactory, ensure_default_newsletter

    ensure_default_newsletter()
    PostFactory(title="Cities after cars")
    SubscriptionFactory(user__email="kept@example.com", status=Subscription.Status.ACTIVE)
    SubscriptionFactory(user__email="left@example.com", status=Subscription.Status.UNSUBSCRIBED)
    client = Client()
    client.force_login(EditorFactory(display_name="Morgan"))
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 800}, accept_downloads=True
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/admin/")
    if width < 768:
        page.get_by_text("Menu").first.click()
    page.get_by_role("link", name="Export", exact=True).first.click()
    expect(page.get_by_role("heading", name="Export the publication")).to_be_visible()
    expect(page.get_by_text("unsubscribed: 1")).to_be_visible()
    page.screenshot(path=shots / f"export-{width}.png", full_page=True)

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the Ghost JSON file").click()
    saved = tmp_path / "export.json"
    waiting.value.save_as(saved)
    assert waiting.value.suggested_filename.endswith(".ghost.json")
    members = json.loads(saved.read_text())["db"][0]["data"]["members"]
    assert {member["email"]: member["subscribed"] for member in members} == {
        "kept@example.com": True,
        "left@example.com": False,
    }
    context.close()
