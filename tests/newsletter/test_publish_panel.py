"""The edit page's publish panel: "on the site" and "by email" are separate choices, and the
confirmation names what will happen and to how many readers."""

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription
from newsletter import services
from newsletter.models import NewsletterSend
from posts.models import Post
from tests.factories import PostFactory, make_subscribers
from tests.posts.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db

CONFIRMED = {"mode": "full", "teaser_words": "150", "when": "now", "confirm": "on"}


def url(post, name):
    return reverse(f"admin:posts_post_{name}", args=[post.pk])


def row(html: str, heading: str) -> str:
    match = re.search(rf'<th scope="row">{heading}</th><td>(.*?)</td>', html, re.S)
    assert match, html
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.fixture
def audience(db):
    """Three confirmed subscribers, one who left, one who never confirmed."""
    make_subscribers(3)
    make_subscribers(1, status=Subscription.Status.UNSUBSCRIBED, prefix="gone")
    make_subscribers(1, status=Subscription.Status.PENDING, prefix="pending")


def test_the_edit_page_offers_publishing_and_email_as_two_choices(editor_client, audience):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)
    page = editor_client.get(url(post, "change")).content.decode()
    assert "Publish on the site" in page and "Email to subscribers" in page
    assert "Keep as a draft: only staff can see it" in page
    assert "Publish on the site now" in page and "Schedule: appear on the site" in page
    assert "Don&#x27;t email it now" in page or "Don't email it now" in page
    assert "3 confirmed subscribers of “" in page and "” would get it now" in page
    assert services.active_subscriber_count() == 3


def test_publishing_without_email_sends_nothing(editor_client, audience):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)
    form = admin_form_data(editor_client, url(post, "change"), status="published")
    assert form["email_subscribers"] == "no"
    response = editor_client.post(url(post, "change"), form)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("admin:posts_post_changelist")
    post.refresh_from_db()
    assert post.is_published()
    assert not NewsletterSend.objects.exists()


def test_publish_and_email_leads_to_a_confirmation_naming_what_happens(editor_client, audience):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Big news")
    form = admin_form_data(
        editor_client, url(post, "change"), status="published", email_subscribers="send"
    )
    response = editor_client.post(url(post, "change"), form)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url(post, "newsletter_send")
    assert not NewsletterSend.objects.exists()  # nothing goes out before the confirmation

    page = editor_client.get(response["Location"]).content.decode()
    assert "What will happen to “Big news”" in page
    assert row(page, "On the site").startswith("Live since")
    assert row(page, "Recipients now") == "3"
    assert row(page, "Goes out") == "now"
    assert "Send to 3 subscribers" in page

    # The same form sent twice (a double click) still only leads to the confirmation.
    again = editor_client.post(url(post, "change"), form)
    assert again["Location"] == url(post, "newsletter_send")
    for _ in range(2):
        editor_client.post(url(post, "newsletter_send"), CONFIRMED)
    assert NewsletterSend.objects.get(post=post).recipients_count == 3


def test_email_chosen_for_a_draft_says_it_cannot_go_yet(editor_client, audience):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)
    form = admin_form_data(editor_client, url(post, "change"), email_subscribers="send")
    page = editor_client.get(editor_client.post(url(post, "change"), form)["Location"])
    html = page.content.decode()
    assert row(html, "On the site") == "Draft: not on the site"
    assert row(html, "Goes out").startswith("not yet")


def test_a_scheduled_post_is_emailed_at_its_publish_time(editor_client, audience):
    later = timezone.now() + timedelta(days=1)
    post = PostFactory(status=Post.Status.SCHEDULED, published_at=later)
    page = editor_client.get(url(post, "newsletter_send")).content.decode()
    assert row(page, "On the site").startswith("Scheduled: appears by itself at")
    assert row(page, "Goes out").startswith("at the publish time")


def test_a_sent_post_shows_its_send_instead_of_the_choice(editor_client, audience):
    post = PostFactory()
    editor_client.post(url(post, "newsletter_send"), CONFIRMED)
    page = editor_client.get(url(post, "change")).content.decode()
    assert 'name="email_subscribers"' not in page
    status = re.search(r'field-email_status.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert status and re.match(r"(Sending|Finished): \d of 3 sent", status.group(1))


def test_statuses_are_true_once_a_scheduled_post_went_live(editor_client):
    post = PostFactory(
        status=Post.Status.SCHEDULED, published_at=timezone.now() + timedelta(hours=1)
    )
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(minutes=1))
    listing = editor_client.get(reverse("admin:posts_post_changelist")).content.decode()
    edit = editor_client.get(url(post, "change")).content.decode()
    send = editor_client.get(url(post, "newsletter_send")).content.decode()
    for html in (listing, edit):
        assert "Live since" in html and "Scheduled for" not in html
    assert re.search(r'value="published"[^>]*checked', edit)
    assert row(send, "On the site").startswith("Live since")
