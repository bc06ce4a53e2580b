"""Previewing a welcome step's email from the newsletter's admin page, exactly as a chosen
reader would get it: subject, From line, the HTML (light or dark) and the plain-text part, with
that reader's own links. Nothing is sent."""

import re
from html import escape
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.referrals import referral_url
from newsletter.links import leave_url, manage_url
from newsletter.models import Newsletter, WelcomeProgress, WelcomeStep
from tests.factories import PostFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def step():
    newsletter = Newsletter.objects.default()
    newsletter.sender_name = "The Weekly Desk"
    newsletter.save(update_fields=["sender_name"])
    newsletter.welcome_steps.all().delete()  # the migrated first step: this one stands alone
    return WelcomeStep.objects.create(
        newsletter=newsletter,
        position=0,
        subject="Glad you are here",
        body="<p>Every Friday, one long read about the cities we could build.</p>",
        show_latest_post=True,
    )


def preview_url(step, name="preview"):
    return reverse(f"admin:newsletter_welcomestep_{name}", args=[step.pk])


def frame_url(html: str) -> str:
    match = re.search(r'<iframe src="([^"]+)" sandbox', html)
    assert match, html
    return match.group(1).replace("&amp;", "&")


def personal_links(user, newsletter) -> list[str]:
    return [leave_url(user.pk, newsletter.pk), manage_url(user.pk), referral_url(user)]


def test_each_saved_step_links_to_its_preview(editor_client, step):
    page = editor_client.get(
        reverse("admin:newsletter_newsletter_change", args=[step.newsletter_id])
    ).content.decode()
    assert preview_url(step) in page
    assert "Preview this email as a reader gets it" in page


def test_the_editor_sees_their_own_copy_by_default(editor_client, step, mailoutbox):
    PostFactory(title="Streets for People")
    response = editor_client.get(preview_url(step))
    assert response.status_code == HTTPStatus.OK
    assert response.context["recipient"] == editor_client.user
    page = response.content.decode()
    assert "Glad you are here" in page
    assert "The Weekly Desk" in page  # the From line carries the newsletter's sender name
    text = response.context["message"].body
    assert "Every Friday, one long read about the cities we could build." in text
    assert "Streets for People" in text  # the step's button to the latest post
    for link in personal_links(editor_client.user, step.newsletter):
        assert link in text
    # The page frames its own preview, and only that; no inline script or style on it.
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page and " style=" not in page
    assert mailoutbox == []
    assert not WelcomeProgress.objects.exists()


def test_a_chosen_reader_gets_their_own_links_in_html_and_text(editor_client, step, mailoutbox):
    reader = SubscriptionFactory(user__email="ada@example.com").user
    response = editor_client.get(preview_url(step), {"subscriber": "ADA@example.com"})
    assert response.context["recipient"] == reader
    message = response.context["message"]
    assert message.to == ["ada@example.com"]
    for link in personal_links(reader, step.newsletter):
        assert link in message.body
    for link in personal_links(editor_client.user, step.newsletter):
        assert link not in message.body

    email = editor_client.get(frame_url(response.content.decode()))
    assert email.status_code == HTTPStatus.OK
    assert email["Content-Type"].startswith("text/html")
    html = email.content.decode()
    assert "Glad you are here" in html and "Every Friday, one long read" in html
    for link in personal_links(reader, step.newsletter):
        assert escape(link) in html
    # The email's inline styles are allowed there; scripts and framing by others are not.
    policy = email["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "sandbox" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert email["X-Frame-Options"] == "SAMEORIGIN"
    assert mailoutbox == []


def test_the_preview_is_the_email_the_worker_sends(editor_client, step, mailoutbox):
    from newsletter import welcome

    reader = SubscriptionFactory(user__email="ada@example.com").user
    shown = editor_client.get(preview_url(step), {"subscriber": "ada@example.com"})
    welcome.enter_series(user=reader, newsletter=step.newsletter)
    welcome.run_due(worker_id="w")
    [sent] = [m for m in mailoutbox if m.to == ["ada@example.com"]]
    assert sent.subject == shown.context["message"].subject
    assert sent.from_email == shown.context["message"].from_email
    assert sent.body == shown.context["message"].body


def test_dark_mode_and_phone_width_are_links(editor_client, step):
    light = editor_client.get(preview_url(step))
    light_html = editor_client.get(frame_url(light.content.decode())).content.decode()
    assert "@media (prefers-color-scheme: dark)" in light_html
    dark_link = re.search(r'<a href="([^"]+)">Dark mode</a>', light.content.decode()).group(1)
    dark = editor_client.get(dark_link.replace("&amp;", "&"))
    assert dark.context["scheme"] == "dark"
    dark_html = editor_client.get(frame_url(dark.content.decode())).content.decode()
    assert "prefers-color-scheme: dark" not in dark_html and "@media all {" in dark_html
    phone_link = re.search(r'<a href="([^"]+)">Phone</a>', dark.content.decode()).group(1)
    phone = editor_client.get(phone_link.replace("&amp;", "&"))
    assert "ff-preview-phone" in phone.content.decode() and phone.context["scheme"] == "dark"


@pytest.mark.parametrize("address", ["nobody@example.com", "not an address", "x" * 300])
def test_an_unknown_or_bad_address_is_explained_and_kept(editor_client, step, address):
    UserFactory(email="nobody@example.com")  # a reader, but not a subscriber
    response = editor_client.get(preview_url(step), {"subscriber": address})
    assert response.status_code == HTTPStatus.OK
    assert "message" not in response.context
    assert response.context["form"].errors.keys() == {"subscriber"}
    assert f'value="{address}"' in response.content.decode()
    email = editor_client.get(preview_url(step, "preview_email"), {"subscriber": address})
    assert email.status_code == HTTPStatus.BAD_REQUEST


def test_anonymous_visitors_are_sent_to_the_login(client, step):
    for name in ("preview", "preview_email"):
        response = client.get(preview_url(step, name))
        assert response.status_code == HTTPStatus.FOUND
        assert "/login" in response.url


def test_readers_who_are_not_staff_are_refused(auth_client, step):
    for name in ("preview", "preview_email"):
        response = auth_client.get(preview_url(step, name))
        assert response.status_code == HTTPStatus.FOUND
        assert "/login" in response.url
        assert "Glad you are here" not in response.content.decode()


def test_staff_without_the_newsletter_permission_are_refused(client, step):
    writer = UserFactory(is_staff=True)
    writer.user_permissions.add(*Permission.objects.filter(codename__in=["change_post"]))
    client.force_login(writer)
    for name in ("preview", "preview_email"):
        assert client.get(preview_url(step, name)).status_code == HTTPStatus.FORBIDDEN


def test_staff_who_may_only_view_see_their_own_copy_only(client, step):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_newsletter"))
    client.force_login(viewer)
    SubscriptionFactory(user__email="ada@example.com")
    own = client.get(preview_url(step))
    assert own.status_code == HTTPStatus.OK
    assert own.context["recipient"] == viewer
    other = client.get(preview_url(step), {"subscriber": "ada@example.com"})
    assert "message" not in other.context
    assert "Only editors who may change newsletters" in other.content.decode()
    email = client.get(preview_url(step, "preview_email"), {"subscriber": "ada@example.com"})
    assert email.status_code == HTTPStatus.BAD_REQUEST


def test_an_unknown_step_is_not_found(editor_client, step):
    missing = WelcomeStep.objects.order_by("-pk").first().pk + 100
    for name in ("preview", "preview_email"):
        url = reverse(f"admin:newsletter_welcomestep_{name}", args=[missing])
        assert editor_client.get(url).status_code == HTTPStatus.NOT_FOUND


def test_the_preview_is_read_only(editor_client, step):
    for name in ("preview", "preview_email"):
        response = editor_client.post(preview_url(step, name))
        assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
