"""After login, subscribing, voting, unsubscribing and logging out, a visitor lands on this site,
whatever `next` a link or a form carried."""

from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.services import unsubscribe_token
from comments.models import Commenter
from polls.services import vote_url
from tests.conftest import code_from_mail
from tests.factories import PollFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "http://testserver@evil.example/",
    " //evil.example/",
    "\t//evil.example/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://testserver.evil.example/",
    "/%2F%2Fevil.example/",
    "%2F%2Fevil.example/",
]


def stays_here(location: str) -> bool:
    """True if a browser following location stays on this site."""
    cleaned = location.strip().replace("\\", "/")
    parts = urlsplit(cleaned)
    return (
        parts.scheme in {"", "http", "https"}
        and parts.netloc in {"", "testserver"}
        and (not cleaned.startswith("//"))
    )


def test_the_check_itself_spots_an_escape():
    assert not stays_here("https://evil.example/") and not stays_here("/\\evil.example/")
    assert stays_here("/p/post/#poll-1") and stays_here("http://testserver/")


@pytest.mark.parametrize("evil", EVIL)
def test_login_by_code(evil, mailoutbox):
    reader = SubscriptionFactory().user
    client = Client()
    client.post(reverse("account_request_login_code"), {"email": reader.email, "next": evil})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])}
    )
    assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])
    assert client.get("/").wsgi_request.user == reader


@pytest.mark.parametrize("evil", EVIL)
def test_subscribe_new_and_logged_in(evil, mailoutbox):
    client = Client()
    client.post("/subscribe/", {"email": "new.reader@example.com", "next": evil})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])}
    )
    assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])
    # Already logged in: one click, then back to... this site.
    response = client.post(f"/subscribe/?next={evil}", {"next": evil})
    assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])


@pytest.mark.parametrize("evil", EVIL)
def test_logout_and_reply_email_switch(evil):
    reader = SubscriptionFactory().user
    Commenter.objects.create(user=reader)
    client = Client()
    client.force_login(reader)
    response = client.post(reverse("comments:reply-emails"), {"receive": "on", "next": evil})
    assert stays_here(response["Location"])
    response = client.post(reverse("account_logout"), {"next": evil})
    assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])


@pytest.mark.parametrize("evil", EVIL)
def test_voting_on_the_site_and_from_an_email(evil):
    poll = PollFactory()
    reader = SubscriptionFactory().user
    client = Client()
    client.force_login(reader)
    url = reverse("polls:vote", kwargs={"poll_id": poll.pk})
    response = client.post(f"{url}?next={evil}", {"choice": poll.choices.first().pk, "next": evil})
    assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])
    link = vote_url(poll_id=poll.pk, choice_id=poll.choices.last().pk, user_id=reader.pk)
    path = "/" + link.split("/", 3)[3]
    for response in (Client().get(f"{path}?next={evil}"), Client().post(path, {"next": evil})):
        assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])


@pytest.mark.parametrize("evil", EVIL)
def test_unsubscribing_never_redirects(evil):
    reader = SubscriptionFactory().user
    path = f"/unsubscribe/{unsubscribe_token(reader.pk)}/"
    for response in (
        Client().get(f"{path}?next={evil}"),
        Client().post(f"{path}?next={evil}", {"next": evil}),
        Client().post(f"{path}resubscribe/?next={evil}", {"next": evil}),
    ):
        assert response.status_code == HTTPStatus.OK
        assert "Location" not in response


@pytest.mark.parametrize("evil", EVIL[:4])
def test_the_admin_door_sends_editors_back_inside(evil, mailoutbox):
    editor = UserFactory(is_staff=True)
    client = Client()
    response = client.get(f"/admin/login/?next={evil}")
    assert response.status_code == HTTPStatus.FOUND and stays_here(response["Location"])
    client.post(reverse("account_request_login_code"), {"email": editor.email, "next": evil})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])}
    )
    assert stays_here(response["Location"])
