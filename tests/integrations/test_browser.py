"""The editors' integration pages in a real browser, at 1280 px: creating an API key (shown
once) and reading a webhook's delivery log. Screenshots go to FF_SCREENSHOTS when it is set."""

import json
import re

import pytest
from playwright.sync_api import expect

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from integrations.services import create_endpoint, emit_event
from tests.browsing import shoot
from tests.factories import EditorFactory, PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_api_key_is_created_and_shown_once(editor_page):
    page = editor_page
    page.goto("/admin/integrations/apikey/add/")
    page.get_by_label("Name").fill("Website widget")
    page.get_by_label("Create pending subscriptions").check()
    page.get_by_role("button", name="Save", exact=True).click()

    shown = page.locator("#secret")
    expect(shown).to_have_value(re.compile(r"^ffk_[0-9a-f]{12}_[\w-]{43}$"))
    key = shown.input_value()
    shoot(page, "api-key-created", widths=(1280,))
    assert ApiKey.objects.authenticate(key).scopes == ["subscribers:write"]

    page.get_by_role("link", name="Done, I have copied it").click()
    expect(page.get_by_role("link", name="Website widget")).to_be_visible()
    assert key not in page.content()
    page.get_by_role("link", name="Website widget").click()
    assert key not in page.content()


def test_webhook_delivery_log(
    editor_page, receiver, loopback_hooks, settings, django_capture_on_commit_callbacks
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
    shoot(page, "webhook-deliveries", widths=(1280,))

    delivery = WebhookDelivery.objects.get(event=WebhookEvent.POST_PUBLISHED)
    page.goto(f"/admin/integrations/webhookdelivery/{delivery.pk}/change/")
    attempts = page.locator("#attempt_log-group tbody tr.has_original")
    expect(attempts).to_have_count(3)
    expect(page.locator("#attempt_log-group")).to_contain_text("receiver broke")
    shoot(page, "webhook-delivery-log", widths=(1280,))


@pytest.mark.parametrize("width", [375, 1280])
def test_export_page_downloads_the_ghost_file(open_page, width, tmp_path):
    from accounts.models import Subscription
    from tests.factories import SubscriptionFactory, ensure_default_newsletter

    ensure_default_newsletter()
    PostFactory(title="Cities after cars")
    SubscriptionFactory(user__email="kept@example.com", status=Subscription.Status.ACTIVE)
    SubscriptionFactory(user__email="left@example.com", status=Subscription.Status.UNSUBSCRIBED)
    page = open_page(EditorFactory(display_name="Morgan"), width=width, accept_downloads=True)
    page.goto("/admin/")
    if width < 768:
        page.get_by_text("Menu").first.click()
    page.get_by_role("link", name="Export", exact=True).first.click()
    expect(page.get_by_role("heading", name="Export the publication")).to_be_visible()
    expect(page.get_by_text("unsubscribed: 1")).to_be_visible()
    shoot(page, f"export-{width}")

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
