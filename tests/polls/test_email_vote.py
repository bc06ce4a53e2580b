"""Voting from the email: a GET records nothing, the page's POST records the link's vote, and a
bad link records nothing and says why."""

import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from polls.models import Vote
from polls.services import vote_url
from tests.factories import PollFactory, UserFactory, VoteFactory
from tests.polls.conftest import choice_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def link_path(poll, choice_id, user) -> str:
    return urlsplit(vote_url(poll_id=poll.pk, choice_id=choice_id, user_id=user.pk)).path


def open_link(client, path):
    """Follow an email link as a mail client would: GET, then the redirect to the post."""
    response = client.get(path)
    assert response.status_code == HTTPStatus.FOUND, response.content
    return response["Location"], client.get(response["Location"])


def confirm_form(html: str) -> tuple[str, str]:
    """Return (action, csrf token) of the page's confirm form."""
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*data-poll-autosubmit', html)
    assert form, "no confirm form on the page"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html[form.start() :])
    return form.group(1), token.group(1)


def test_get_records_nothing_and_opens_the_post_at_the_poll_with_the_choice(
    csrf_client, poll, subscriber
):
    second = choice_ids(poll)[1]
    path = link_path(poll, second, subscriber)

    location, page = open_link(csrf_client, path)

    assert location.startswith(f"/p/{poll.post.slug}/?vote=") and location.endswith(
        f"#poll-{poll.pk}"
    )
    html = page.content.decode()
    assert re.search(
        r'class="poll-option is-picked">\s*<span class="poll-option-text">Worried</span>', html
    )
    assert ">Confirm</button>" in html and "js/polls.js" in html
    # A second GET (a scanner, a preview pane) still records nothing.
    csrf_client.get(path)
    csrf_client.get(location)
    assert not Vote.objects.exists()


def test_the_confirm_post_records_the_vote_without_logging_in(csrf_client, poll, subscriber):
    second = choice_ids(poll)[1]
    _location, page = open_link(csrf_client, link_path(poll, second, subscriber))
    action, csrf = confirm_form(page.content.decode())

    response = csrf_client.post(action, {"csrfmiddlewaretoken": csrf})

    assert response.status_code == HTTPStatus.FOUND
    assert Vote.objects.get(poll=poll, user=subscriber).choice_id == second
    assert "_auth_user_id" not in csrf_client.session
    results = csrf_client.get(response["Location"]).content.decode()
    assert "Thanks, your vote is counted." in results
    assert re.search(r"Worried <strong class=\"poll-mine\">Your vote</strong>", results)
    assert "100%" in results and "data-poll-autosubmit" not in results


def test_confirming_twice_keeps_one_vote(csrf_client, poll, subscriber):
    path = link_path(poll, choice_ids(poll)[0], subscriber)
    _location, page = open_link(csrf_client, path)
    action, csrf = confirm_form(page.content.decode())
    csrf_client.post(action, {"csrfmiddlewaretoken": csrf})
    csrf_client.post(action, {"csrfmiddlewaretoken": csrf})
    assert Vote.objects.filter(poll=poll).count() == 1


def test_a_later_link_for_another_choice_changes_the_vote(csrf_client, poll, subscriber):
    first, second, _ = choice_ids(poll)
    VoteFactory(poll=poll, user=subscriber, choice_id=first)
    _location, page = open_link(csrf_client, link_path(poll, second, subscriber))
    action, csrf = confirm_form(page.content.decode())
    csrf_client.post(action, {"csrfmiddlewaretoken": csrf})
    assert Vote.objects.get(poll=poll, user=subscriber).choice_id == second


def test_the_vote_is_the_links_readers_even_when_someone_else_is_logged_in(poll, subscriber):
    someone = UserFactory()
    client = Client()
    client.force_login(someone)
    path = link_path(poll, choice_ids(poll)[0], subscriber)
    client.post(path)
    assert list(Vote.objects.values_list("user_id", flat=True)) == [subscriber.pk]


def test_confirming_needs_the_csrf_token(csrf_client, poll, subscriber):
    response = csrf_client.post(link_path(poll, choice_ids(poll)[0], subscriber))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Vote.objects.exists()


def tamper(path: str) -> str:
    token = path.rstrip("/").rsplit("/", 1)[1]
    value, stamp, signature = token.split(":")
    poll_id, choice_id, user_id = value.split("-")
    return path.replace(token, f"{poll_id}-{int(choice_id) + 1}-{user_id}:{stamp}:{signature}")


@pytest.mark.parametrize(
    ("make_path", "status", "says"),
    [
        (lambda path: "/polls/email/not-a-token/", HTTPStatus.BAD_REQUEST, "not valid"),
        (lambda path: path[:-8] + "/", HTTPStatus.BAD_REQUEST, "not valid"),
        (tamper, HTTPStatus.BAD_REQUEST, "not valid"),
        (lambda path: "/polls/email/%E2%9C%93%00/", HTTPStatus.BAD_REQUEST, "not valid"),
        (lambda path: "/polls/email/" + "a" * 5000 + "/", HTTPStatus.BAD_REQUEST, "not valid"),
    ],
    ids=["forged", "truncated", "altered choice", "odd characters", "huge"],
)
def test_bad_links_record_nothing_and_say_why(client, poll, subscriber, make_path, status, says):
    path = make_path(link_path(poll, choice_ids(poll)[0], subscriber))
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == status
        body = response.content.decode()
        assert "Your vote was not recorded" in body and says in body
    assert not Vote.objects.exists()


def test_a_forged_token_on_the_post_page_says_why(client, poll):
    html = client.get(f"{poll.post.get_absolute_url()}?vote=1-2-3:abc:def").content.decode()
    assert "This voting link is not valid" in html and "data-poll-autosubmit" not in html


def test_an_expired_link_records_nothing_and_points_to_the_poll(settings, client, poll, subscriber):
    path = link_path(poll, choice_ids(poll)[0], subscriber)
    settings.POLLS_EMAIL_VOTE_MAX_AGE = -1
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == HTTPStatus.GONE
        body = response.content.decode()
        assert "expired" in body and f'href="{poll.get_absolute_url()}"' in body
    assert not Vote.objects.exists()


def test_a_closed_poll_records_nothing_and_says_so(client, subscriber):
    poll = PollFactory(closes_at=timezone.now() + timedelta(days=1))
    path = link_path(poll, choice_ids(poll)[0], subscriber)
    poll.closes_at = timezone.now() - timedelta(seconds=1)
    poll.save()

    location, page = open_link(client, path)
    assert "This poll is closed" in page.content.decode()
    response = client.post(path)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "This poll is closed" in response.content.decode()
    assert not Vote.objects.exists()


def test_when_changes_are_not_allowed_the_page_says_so(client, subscriber):
    poll = PollFactory(allow_vote_change=False)
    first, second, _ = choice_ids(poll)
    VoteFactory(poll=poll, user=subscriber, choice_id=first)
    path = link_path(poll, second, subscriber)

    _location, page = open_link(client, path)
    assert "votes cannot be changed" in page.content.decode()
    assert client.post(path).status_code == HTTPStatus.CONFLICT
    assert Vote.objects.get(poll=poll, user=subscriber).choice_id == first


def test_a_deleted_account_records_nothing(client, poll):
    reader = UserFactory()
    path = link_path(poll, choice_ids(poll)[0], reader)
    reader.delete()
    response = client.post(path)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "no longer exists" in response.content.decode()
    assert not Vote.objects.exists()


def test_email_votes_are_rate_limited_per_reader(settings, client, poll, subscriber):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "vote": "1/m/user"}
    first, second, _ = choice_ids(poll)
    assert client.post(link_path(poll, first, subscriber)).status_code == HTTPStatus.FOUND
    response = client.post(link_path(poll, second, subscriber))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert Vote.objects.get(poll=poll, user=subscriber).choice_id == first
