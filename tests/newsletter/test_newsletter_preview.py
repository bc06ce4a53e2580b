"""Previewing a post's email from its admin page, as one subscriber would get it."""

import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.services import unsubscribe_token
from polls.services import read_vote_token
from tests.factories import PollFactory, PostFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def preview_url(post, name="newsletter_preview"):
    return reverse(f"admin:posts_post_{name}", args=[post.pk])


def frame_url(html: str) -> str:
    match = re.search(r'<iframe src="([^"]+)" sandbox', html)
    assert match, html
    return match.group(1).replace("&amp;", "&")


def vote_tokens(text: str) -> list[str]:
    return re.findall(r"http://testserver/polls/email/([^/\s\"]+)/", text)


def test_the_post_page_links_to_the_preview(editor_client):
    post = PostFactory()
    page = editor_client.get(reverse("admin:posts_post_change", args=[post.pk])).content.decode()
    assert "Preview email" in page and preview_url(post) in page


def test_without_an_address_the_editor_sees_their_own_copy(editor_client, mailoutbox):
    post = PostFactory(title="Cities After Cars")
    response = editor_client.get(preview_url(post))
    assert response.status_code == HTTPStatus.OK
    assert response.context["recipient"] == editor_client.user
    text = response.context["message"].body
    assert "CITIES AFTER CARS" in text
    assert unsubscribe_token(editor_client.user.pk) in text
    page = response.content.decode()
    assert "Plain-text part" in page and "Cities After Cars" in page
    # The page frames its own preview, and only that.
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self'" in policy and "unsafe-inline" not in policy
    assert mailoutbox == []


def test_a_chosen_subscriber_gets_their_own_links_in_html_and_text(editor_client, mailoutbox):
    post = PostFactory()
    poll = PollFactory(post=post, choices=["Yes", "No"])
    reader = SubscriptionFactory(user__email="ada@example.com").user
    response = editor_client.get(preview_url(post), {"subscriber": "ADA@example.com"})
    assert response.context["recipient"] == reader
    text = response.context["message"].body
    assert unsubscribe_token(reader.pk) in text
    assert {read_vote_token(token).user_id for token in vote_tokens(text)} == {reader.pk}
    assert len(vote_tokens(text)) == poll.choices.count()

    email = editor_client.get(frame_url(response.content.decode()))
    assert email.status_code == HTTPStatus.OK
    assert email["Content-Type"].startswith("text/html")
    html = email.content.decode()
    assert unsubscribe_token(reader.pk) in html
    assert {read_vote_token(token).user_id for token in vote_tokens(html)} == {reader.pk}
    # The email's inline styles are allowed there; scripts and framing by others are not.
    policy = email["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "sandbox" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert email["X-Frame-Options"] == "SAMEORIGIN"
    assert mailoutbox == []


def test_the_teaser_is_previewed_as_it_would_go_out(editor_client):
    post = PostFactory(body="<p>Opening words.</p><!--more--><p>The rest.</p>")
    response = editor_client.get(preview_url(post), {"mode": "teaser", "teaser_words": "150"})
    text = response.context["message"].body
    assert "Opening words." in text and "The rest." not in text
    html = editor_client.get(frame_url(response.content.decode())).content.decode()
    assert "Opening words." in html and "The rest." not in html


def test_phone_and_desktop_widths_are_two_links(editor_client):
    post = PostFactory()
    desktop = editor_client.get(preview_url(post)).content.decode()
    assert "ff-preview-desktop" in desktop
    phone_link = re.search(r'<a href="([^"]+)">Phone</a>', desktop).group(1)
    assert "width=phone" in phone_link
    phone = editor_client.get(phone_link.replace("&amp;", "&")).content.decode()
    assert "ff-preview-phone" in phone
    assert "width=desktop" in re.search(r'<a href="([^"]+)">Desktop</a>', phone).group(1)


def test_dark_mode_turns_the_emails_dark_rules_on(editor_client):
    post = PostFactory()
    light = editor_client.get(preview_url(post))
    light_html = editor_client.get(frame_url(light.content.decode())).content.decode()
    assert "@media (prefers-color-scheme: dark)" in light_html

    dark_link = re.search(r'<a href="([^"]+)">Dark mode</a>', light.content.decode()).group(1)
    dark = editor_client.get(dark_link.replace("&amp;", "&"))
    assert dark.context["scheme"] == "dark"
    dark_html = editor_client.get(frame_url(dark.content.decode())).content.decode()
    assert "prefers-color-scheme: dark" not in dark_html
    assert "@media all {" in dark_html
    # The toggles keep each other: the phone link of the dark preview stays dark.
    phone_link = re.search(r'<a href="([^"]+)">Phone</a>', dark.content.decode()).group(1)
    assert "scheme=dark" in phone_link


@pytest.mark.parametrize("address", ["nobody@example.com", "not an address"])
def test_an_unknown_or_bad_address_is_explained_and_kept(editor_client, address):
    post = PostFactory()
    UserFactory(email="nobody@example.com")  # a reader, but not a subscriber
    response = editor_client.get(preview_url(post), {"subscriber": address})
    assert response.status_code == HTTPStatus.OK
    assert "message" not in response.context
    assert response.context["form"].errors.keys() == {"subscriber"}
    assert f'value="{address}"' in response.content.decode()
    email = editor_client.get(
        preview_url(post, "newsletter_preview_email"), {"subscriber": address}
    )
    assert email.status_code == HTTPStatus.BAD_REQUEST


def test_only_editors_who_may_send_can_preview(client):
    writer = UserFactory(is_staff=True)
    writer.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_post", "view_post"])
    )
    client.force_login(writer)
    post = PostFactory()
    change = client.get(reverse("admin:posts_post_change", args=[post.pk])).content.decode()
    assert "Preview email" not in change
    for name in ("newsletter_preview", "newsletter_preview_email"):
        assert client.get(preview_url(post, name)).status_code == HTTPStatus.FORBIDDEN


def test_the_preview_is_read_only(editor_client):
    post = PostFactory()
    for name in ("newsletter_preview", "newsletter_preview_email"):
        response = editor_client.post(preview_url(post, name))
        assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
