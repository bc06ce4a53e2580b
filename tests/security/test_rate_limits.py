"""Rate limits: every limiter answers 429 with a message a person understands, the counts live
in the database (so every gunicorn worker and machine sees them), and they are keyed on the
client's real address behind the configured proxies, which a forged X-Forwarded-For cannot
reset."""

import json
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from comments.models import Commenter
from polls.services import vote_url
from tests.conftest import code_from_mail
from tests.factories import (
    CommentFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
)
from tests.production.procs import production_env, run_python

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def hammer(send, times):
    """Return the responses of calling send() times times."""
    return [send() for _ in range(times)]


def assert_limited(response, message):
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS, response.status_code
    assert message in response.content.decode()


@pytest.fixture
def reader(db):
    user = SubscriptionFactory().user
    Commenter.objects.create(user=user, is_trusted=True)
    return user


@pytest.fixture
def reader_client(reader):
    client = Client()
    client.force_login(reader)
    return client


def test_subscribe_per_address(client, mailoutbox):
    def send():
        return client.post("/subscribe/", {"email": "ada@example.com"})

    assert [r.status_code for r in hammer(send, 3)] == [HTTPStatus.FOUND] * 3
    assert_limited(send(), "Too many attempts from here. Please wait a few minutes")
    assert len(mailoutbox) == 3


@pytest.mark.parametrize("url", ["account_request_login_code", "account_login"])
def test_login_code_requests_per_address(url, mailoutbox):
    """Both login pages ask for an email and send a code (readers and editors have no password
    form); each new browser counts against the address."""
    reader = SubscriptionFactory().user
    field = "email" if url == "account_request_login_code" else "login"

    def send():
        return Client().post(reverse(url), {field: reader.email})

    assert [r.status_code for r in hammer(send, 3)] == [HTTPStatus.FOUND] * 3
    assert_limited(send(), "Too many failed login attempts")
    assert len(mailoutbox) == 3


def test_login_page_itself_per_address(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    hammer(lambda: client.post(reverse("account_login"), {}), 2)
    assert_limited(client.post(reverse("account_login"), {}), "Too many requests")


def test_comments(reader_client):
    post = PostFactory()

    def send(n=[0]):  # noqa: B006 (a counter: each comment says something new)
        n[0] += 1
        return reader_client.post(
            reverse("comments:create", kwargs={"slug": post.slug}), {"body": f"Thought {n[0]}"}
        )

    hammer(send, 5)
    assert_limited(send(), "You are commenting faster than we allow")


def test_votes_plain_and_in_place(reader_client):
    polls = [PollFactory() for _ in range(2)]
    url = reverse("polls:vote", kwargs={"poll_id": polls[0].pk})
    choice = polls[0].choices.first().pk
    hammer(lambda: reader_client.post(url, {"choice": choice}), 30)
    message = "Too many votes in a short time"
    assert_limited(reader_client.post(url, {"choice": choice}), message)
    other = reverse("polls:vote", kwargs={"poll_id": polls[1].pk})
    assert_limited(reader_client.post(other, {"choice": choice}, **HTMX), message)


def test_email_vote_links(client):
    poll = PollFactory()
    reader = SubscriptionFactory().user
    path = vote_url(poll_id=poll.pk, choice_id=poll.choices.first().pk, user_id=reader.pk)
    path = "/" + path.split("/", 3)[3]
    hammer(lambda: client.post(path), 30)
    assert_limited(client.post(path), "Too many requests in a short time")


def test_reactions_thumbs_likes_and_reports(reader_client):
    post = PostFactory()
    thumbs = reverse("posts:thumbs-up", kwargs={"slug": post.slug})
    hammer(lambda: reader_client.post(thumbs, {"given": "1"}), 60)
    assert_limited(reader_client.post(thumbs, {"given": "1"}), "Too many requests")
    assert_limited(reader_client.post(thumbs, {"given": "1"}, **HTMX), "That was a lot of thumbs")
    comment = CommentFactory(post=post)
    like = reverse("comments:like", kwargs={"pk": comment.pk})
    assert_limited(reader_client.post(like), "Too many likes in a short time")
    report = reverse("comments:report", kwargs={"pk": comment.pk})
    assert_limited(reader_client.post(report, {"reason": "spam"}), "Too many reports")


# --- Keyed on the real client address ---


@pytest.fixture
def one_subscribe_per_address(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "subscribe": "1/h/ip"}
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def subscribe_from(address_header, email, remote="10.0.0.1"):
    """A subscribe POST as it reaches the site through one proxy at `remote`."""
    return Client(REMOTE_ADDR=remote).post(
        "/subscribe/", {"email": email}, HTTP_X_FORWARDED_FOR=address_header
    )


def test_a_forged_forwarded_for_does_not_reset_the_limit(one_subscribe_per_address):
    # The proxy appends the address it saw; anything before it is whatever the client wrote.
    assert subscribe_from("203.0.113.7", "a@example.com").status_code == HTTPStatus.FOUND
    for forged in ["198.51.100.1, 203.0.113.7", "1.1.1.1, 2.2.2.2, 203.0.113.7"]:
        assert_limited(subscribe_from(forged, "b@example.com"), "Too many attempts")
    # A different reader behind the same proxy has their own allowance.
    assert subscribe_from("203.0.113.8", "c@example.com").status_code == HTTPStatus.FOUND


def test_a_request_that_skipped_the_proxies_is_keyed_on_its_own_address(
    one_subscribe_per_address, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    # Two proxies should have written two addresses; one means it did not come through them.
    response = subscribe_from("203.0.113.7", "a@example.com", remote="192.0.2.50")
    assert response.status_code == HTTPStatus.FOUND
    assert_limited(subscribe_from("203.0.113.99", "b@example.com", remote="192.0.2.50"), "Too")


def test_the_proxy_count_comes_from_the_environment():
    code = (
        "import django; django.setup(); "
        "from allauth import app_settings as a; print(a.TRUSTED_PROXY_COUNT)"
    )
    result = run_python(code, production_env(DJANGO_TRUSTED_PROXY_COUNT="2"))
    assert result.stdout.strip() == "2", result.stderr


# --- Shared by every process ---

OTHER_WORKER = """
import django, json
django.setup()
from accounts import ratelimits
from django.test import RequestFactory
request = RequestFactory().post("/subscribe/", REMOTE_ADDR="203.0.113.20")
print(json.dumps([
    ratelimits.consume(request, action="subscribe", key="shared@example.com") for _ in range(3)
]))
"""


@pytest.mark.django_db(transaction=True)
def test_limits_are_shared_by_every_process(client, mailoutbox):
    """Another process (a second gunicorn worker, another machine) uses up an address's
    allowance; this one then refuses the same address."""
    result = run_python(OTHER_WORKER, production_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, True]
    response = client.post("/subscribe/", {"email": "shared@example.com"})
    assert_limited(response, "Too many attempts")
    assert mailoutbox == []


def test_login_code_confirmation_is_bounded(client, mailoutbox):
    """Guessing codes: three wrong tries void the code, and new codes are limited too, so a
    code cannot be brute-forced."""
    reader = SubscriptionFactory().user
    client.post(reverse("account_request_login_code"), {"email": reader.email})
    code = code_from_mail(mailoutbox[-1])
    confirm = reverse("account_confirm_login_code")
    for _ in range(3):
        client.post(confirm, {"code": "AAAA-AAAA"})
    client.post(confirm, {"code": code})
    assert not client.get("/").wsgi_request.user.is_authenticated
