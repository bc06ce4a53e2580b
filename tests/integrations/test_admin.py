"""The editors' side: a key or a secret shown once, refusals that say why and save nothing, the
delivery log and its "redeliver" action."""

import re
from http import HTTPStatus

import pytest

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from integrations.services import create_endpoint, emit_event
from tests.factories import PostFactory
from tests.integrations.receiver import signature_is_valid

pytestmark = pytest.mark.django_db

KEY = re.compile(r"ffk_[0-9a-f]{12}_[\w-]{43}")


def test_api_key_is_shown_once_and_works(editor_client, client):
    response = editor_client.post(
        "/admin/integrations/apikey/add/",
        {"name": "Website widget", "scopes": ["posts:full"]},
    )
    assert response.status_code == HTTPStatus.OK
    [key] = KEY.findall(response.content.decode())
    row = ApiKey.objects.get()
    assert row.scopes == ["posts:full"] and row.created_by is not None
    assert client.get("/api/v1/tags", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    # Never again: not on its page, not in the list.
    for page in (f"/admin/integrations/apikey/{row.pk}/change/", "/admin/integrations/apikey/"):
        assert key not in editor_client.get(page).content.decode()


def test_revoked_key_stops_working(editor_client, client, make_key):
    row, key = make_key()
    editor_client.post(
        "/admin/integrations/apikey/",
        {"action": "revoke", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.revoked_at is not None
    response = client.get("/api/v1/tags", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_webhook_secret_is_shown_once(editor_client, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    response = editor_client.post(
        "/admin/integrations/webhookendpoint/add/",
        {"url": "http://127.0.0.1:9/hooks", "events": ["post.published", "poll.closed"]},
    )
    assert response.status_code == HTTPStatus.OK
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    page = editor_client.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/in", "Only http:// and https://"),
        ("javascript:alert(1)", "Enter a valid URL"),
        ("http://10.1.2.3/hook", "not on the public internet"),
        ("http://169.254.169.254/latest/meta-data", "not on the public internet"),
        ("http://localhost:8000/hook", "not on the public internet"),
        ("http://[::1]/hook", "not on the public internet"),
    ],
)
def test_bad_webhook_urls_are_refused(editor_client, url, message):
    response = editor_client.post(
        "/admin/integrations/webhookendpoint/add/", {"url": url, "events": ["post.published"]}
    )
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_and_redeliver(
    editor_client, receiver, loopback_hooks, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = WebhookEndpoint(url=receiver.url, events=[WebhookEvent.POST_PUBLISHED])
    secret = create_endpoint(endpoint=endpoint)
    receiver.answers = [500] * 10
    post = PostFactory()
    with django_capture_on_commit_callbacks(execute=True):
        emit_event(event=WebhookEvent.POST_PUBLISHED, data={"id": post.pk})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED

    log = editor_client.get(f"/admin/integrations/webhookdelivery/{delivery.pk}/change/")
    assert "receiver broke" in log.content.decode()
    assert ">500<" in log.content.decode()

    receiver.answers = []  # the receiver is fixed
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(
            "/admin/integrations/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]
    assert signature_is_valid(secret, receiver.received[-1])
