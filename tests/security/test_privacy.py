"""A reader's data is theirs: they download all of it from the account page, and deleting the
account removes it, leaving their words as a deleted reader's and their votes without a name."""

import json
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from accounts.models import Session, Subscription, User
from comments.models import Comment, Commenter, CommentLike, CommentReport
from newsletter.models import Delivery, NewsletterSend
from polls.models import Vote
from posts.models import ThumbsUp
from tests.conftest import code_from_mail
from tests.factories import (
    CommentFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    ThumbsUpFactory,
    UserFactory,
    VoteFactory,
)
from tests.posts.pictures import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def life(db):
    """A reader who did a bit of everything, and someone they talked to."""
    reader = SubscriptionFactory(
        user__email="ada@example.com", user__display_name="Ada", source="footer"
    ).user
    other = SubscriptionFactory(user__display_name="Bruno").user
    post = PostFactory(title="Cities after cars", slug="cities")
    poll = PollFactory(post=post, question="Would you give up your car?")
    vote = VoteFactory(poll=poll, user=reader, choice=poll.choices.get(text="Worried"))
    VoteFactory(poll=poll, user=other, choice=poll.choices.get(text="Hopeful"))
    comment = CommentFactory(post=post, author=reader, body="Bike lanes first.")
    reply = CommentFactory(post=post, author=other, parent=comment, body="Agreed.")
    other_comment = CommentFactory(post=post, author=other, body="Trams!")
    CommentLike.objects.create(comment=other_comment, user=reader)
    Comment.objects.filter(pk=other_comment.pk).update(like_count=1)
    CommentReport.objects.create(
        comment=reply, reporter=reader, reason="off_topic", details="Not about cars."
    )
    Commenter.objects.create(user=reader, notify_replies=True)
    ThumbsUpFactory(post=post, user=reader)
    send = NewsletterSend.objects.create(post=post, recipients_count=1)
    Delivery.objects.create(send=send, user=reader, status="sent")
    return {
        "reader": reader,
        "other": other,
        "post": post,
        "poll": poll,
        "vote": vote,
        "comment": comment,
        "reply": reply,
        "liked": other_comment,
    }


def test_the_account_page_offers_the_download(client, life):
    client.force_login(life["reader"])
    page = client.get("/account/").content.decode()
    assert f'href="{reverse("accounts:data-export")}"' in page


def test_a_reader_downloads_everything_stored_about_them(client, life):
    client.force_login(life["reader"])
    response = client.get(reverse("accounts:data-export"))
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="futureforward-data-')
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["email"] == "ada@example.com"
    assert data["account"]["display_name"] == "Ada"
    assert data["email_addresses"] == [
        {"email": "ada@example.com", "verified": True, "primary": True}
    ]
    assert data["subscription"]["status"] == "active"
    assert data["subscription"]["source"] == "footer"
    assert data["newsletter_emails"] == [
        {"post": "Cities after cars", "status": "sent", "sent": None}
    ]
    [vote] = data["poll_votes"]
    assert vote["question"] == "Would you give up your car?" and vote["choice"] == "Worried"
    assert vote["url"] == f"http://testserver/p/cities/#poll-{life['poll'].pk}"
    [comment] = data["comments"]
    assert comment["text"] == "Bike lanes first." and comment["post"] == "Cities after cars"
    assert data["comment_likes"][0]["comment"] == life["liked"].pk
    assert data["comment_reports"][0]["details"] == "Not about cars."
    assert data["thumbs_up"][0]["post"] == "Cities after cars"
    assert data["discussion"]["reply_emails"] is True
    # Only theirs: nothing of Bruno's.
    text = response.content.decode()
    assert "Agreed." not in text and "Bruno" not in text and "Hopeful" not in text
    # No secrets, even hashed.
    assert "password" not in json.dumps(data["account"]).replace("has_password", "")


def test_the_download_needs_a_login(client):
    response = client.get(reverse("accounts:data-export"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_request_login_code"))


def test_deleting_an_account_end_to_end(
    life, mailoutbox, settings, django_capture_on_commit_callbacks
):
    reader, post, poll = life["reader"], life["post"], life["poll"]
    reader.avatar.save("ada.jpg", ContentFile(jpeg_bytes((40, 40))))
    avatar = settings.MEDIA_ROOT / reader.avatar.name
    assert avatar.exists()
    results_before = poll.results()
    votes_before = sorted(Vote.objects.filter(poll=poll).values_list("choice__text", flat=True))

    # Logged in on two devices: this browser (by code) and a phone.
    browser, phone = Client(), Client()
    browser.post(reverse("account_request_login_code"), {"email": reader.email})
    browser.post(reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])})
    phone.force_login(reader)
    assert phone.get("/account/").status_code == HTTPStatus.OK

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    assert response.status_code == HTTPStatus.FOUND

    # The account and what identifies the reader are gone.
    assert not User.objects.filter(pk=reader.pk).exists()
    assert not EmailAddress.objects.filter(email="ada@example.com").exists()
    assert not Subscription.objects.filter(user_id=reader.pk).exists()
    assert not Commenter.objects.filter(user_id=reader.pk).exists()
    assert not ThumbsUp.objects.filter(user_id=reader.pk).exists()
    assert not Delivery.objects.filter(user_id=reader.pk).exists()
    assert not avatar.exists()
    # Every session, on every device, is gone, not merely logged out.
    for session in Session.objects.all():
        assert session.get_decoded().get("_auth_user_id") != str(reader.pk)
    assert phone.get("/account/").status_code == HTTPStatus.FOUND
    # The email address is nowhere in the database any more.
    assert "ada@example.com" not in json.dumps(
        [list(Session.objects.values_list("session_data", flat=True))]
    )

    # Their comment stays where it was, from "a deleted reader"; replies keep their place.
    comment = Comment.objects.get(pk=life["comment"].pk)
    assert comment.author is None and comment.body == "Bike lanes first."
    page = Client().get(post.get_absolute_url()).content.decode()
    assert "Bike lanes first." in page and "Agreed." in page
    assert "Ada" not in page
    assert "a deleted reader" in page
    # Their vote counts, without a name: the results do not move.
    votes_after = sorted(Vote.objects.filter(poll=poll).values_list("choice__text", flat=True))
    assert votes_after == votes_before
    assert Vote.objects.get(pk=life["vote"].pk).user is None
    assert poll.results() == results_before
    # Their like still counts; their report stays for the editors, unsigned.
    assert CommentLike.objects.get(comment=life["liked"]).user is None
    assert Comment.objects.get(pk=life["liked"].pk).like_count == 1
    assert CommentReport.objects.get(comment=life["reply"]).reporter is None


def test_a_deleted_readers_address_can_subscribe_afresh(client, life, mailoutbox):
    reader = life["reader"]
    client.force_login(reader)
    client.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    response = Client().post("/subscribe/", {"email": "ada@example.com"})
    assert response.status_code == HTTPStatus.FOUND
    new = User.objects.get(email="ada@example.com")
    assert new.pk != reader.pk and new.subscription.status == Subscription.Status.PENDING


@pytest.mark.parametrize("how", ["subscribe page", "account page"])
def test_no_newsletter_without_a_proven_address(how, mailoutbox):
    """Double opt-in holds for a logged-in reader who never proved their address too: the
    subscription waits until they type the code we email them."""
    reader = UserFactory(verified=False)
    client = Client()
    client.force_login(reader)
    if how == "subscribe page":
        response = client.post("/subscribe/", {"source": "footer"})
    else:
        response = client.post("/account/", {"newsletter": "1", "receive": "on"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("account_email_verification_sent")
    assert Subscription.objects.get(user=reader).status == Subscription.Status.PENDING
    assert [m.to for m in mailoutbox] == [[reader.email]]
    client.post(reverse("account_email_verification_sent"), {"code": code_from_mail(mailoutbox[0])})
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE
