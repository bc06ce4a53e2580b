"""Thumbs up: one per reader per post, for readers who may participate, with or without htmx."""

import re
from http import HTTPStatus

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from posts.models import Post, ThumbsUp
from posts.services import set_thumbs_up
from tests.factories import PostFactory, ThumbsUpFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def post():
    return PostFactory(slug="liked")


def url(post):
    return f"/p/{post.slug}/thumbs-up/"


def test_everyone_sees_the_count(client, post):
    ThumbsUpFactory.create_batch(3, post=post)
    html = client.get(post.get_absolute_url()).content.decode()
    assert '<span class="thumbs-number">3</span> readers gave this a thumbs up' in html


def test_anonymous_readers_are_invited_to_log_in_or_subscribe(client, post):
    html = client.get(post.get_absolute_url()).content.decode()
    box = html.split('id="thumbs-up"', 1)[1].split("</div>", 1)[0]
    assert "<button" not in box
    assert 'href="/accounts/login/code/?next=%2Fp%2Fliked%2F%23thumbs-up">Login</a>' in box
    assert 'href="/subscribe/?next=%2Fp%2Fliked%2F%23thumbs-up">Subscribe</a>' in box


def test_anonymous_post_goes_to_login_and_changes_nothing(client, post):
    response = client.post(url(post), {"given": "1"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/code/?next=")
    assert not ThumbsUp.objects.exists()


def test_anonymous_htmx_post_gets_the_invitation_in_place(client, post):
    response = client.post(url(post), {"given": "1"}, **HTMX)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="thumbs-up"') and "<html" not in html
    assert "Log in or subscribe to give a thumbs up." in html
    assert not ThumbsUp.objects.exists()


def test_a_reader_with_an_unverified_email_cannot_react(client, post):
    client.force_login(UserFactory(verified=False))
    page = client.get(post.get_absolute_url()).content.decode()
    assert "Confirm your email address to give a thumbs up" in page
    assert 'class="thumbs-button"' not in page

    response = client.post(url(post), {"given": "1"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"Confirm your email address" in response.content
    htmx = client.post(url(post), {"given": "1"}, **HTMX)
    assert htmx.status_code == HTTPStatus.FORBIDDEN and b'id="thumbs-up"' in htmx.content
    assert htmx["X-Reader-Error"] == "1"  # so the page shows it in place
    assert not ThumbsUp.objects.exists()


def test_a_subscriber_gives_and_takes_back_a_thumbs_up_with_plain_forms(auth_client, post):
    page = auth_client.get(post.get_absolute_url()).content.decode()
    assert 'aria-pressed="false"' in page and 'name="given" value="1"' in page

    response = auth_client.post(url(post), {"given": "1"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/p/liked/#thumbs-up"
    assert ThumbsUp.objects.filter(post=post, user=auth_client.user).count() == 1
    page = auth_client.get(post.get_absolute_url()).content.decode()
    assert 'aria-pressed="true"' in page and 'name="given" value="0"' in page
    assert '<span class="thumbs-number">1</span> reader gave this a thumbs up, you included' in page

    auth_client.post(url(post), {"given": "0"})
    assert not ThumbsUp.objects.exists()


def test_a_double_submit_leaves_one_thumbs_up(auth_client, post):
    auth_client.post(url(post), {"given": "1"})
    auth_client.post(url(post), {"given": "1"})
    assert ThumbsUp.objects.filter(post=post).count() == 1
    auth_client.post(url(post), {"given": "0"})
    auth_client.post(url(post), {"given": "0"})
    assert ThumbsUp.objects.filter(post=post).count() == 0


def test_htmx_returns_only_the_box_with_the_new_count(auth_client, post):
    ThumbsUpFactory(post=post)
    response = auth_client.post(url(post), {"given": "1"}, **HTMX)
    assert response.status_code == HTTPStatus.OK
    assert "HX-Request" in response["Vary"]
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="thumbs-up"') and "<html" not in html
    assert '<span class="thumbs-number">2</span>' in html and 'aria-pressed="true"' in html
    assert 'hx-post="/p/liked/thumbs-up/"' in html


def test_readers_count_separately_and_the_database_allows_one_each(post):
    first, second = UserFactory(), UserFactory()
    set_thumbs_up(post=post, user=first, given=True)
    set_thumbs_up(post=post, user=second, given=True)
    set_thumbs_up(post=post, user=first, given=True)
    assert Post.objects.with_thumbs_up().get(pk=post.pk).thumbs_up_count == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        ThumbsUp.objects.create(post=post, user=first)


@pytest.mark.parametrize("data", [{}, {"given": "yes"}, {"given": ""}, {"given": "1" * 500}])
def test_malformed_input_is_a_400(auth_client, post, data):
    response = auth_client.post(url(post), data)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not ThumbsUp.objects.exists()


def test_only_published_posts_take_thumbs(auth_client):
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    assert auth_client.post(url(draft), {"given": "1"}).status_code == HTTPStatus.NOT_FOUND
    assert auth_client.post("/p/nope/thumbs-up/", {"given": "1"}).status_code == 404


def test_get_is_not_allowed(auth_client, post):
    assert auth_client.get(url(post)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_a_forged_post_without_csrf_token_is_refused(subscriber, post):
    client = Client(enforce_csrf_checks=True)
    client.force_login(subscriber)
    assert client.post(url(post), {"given": "1"}).status_code == HTTPStatus.FORBIDDEN
    assert not ThumbsUp.objects.exists()


def test_thumbs_up_is_rate_limited(auth_client, post, settings):
    settings.ACCOUNT_RATE_LIMITS = settings.ACCOUNT_RATE_LIMITS | {"react": "3/m/user"}
    for given in ["1", "0", "1"]:
        assert auth_client.post(url(post), {"given": given}).status_code == HTTPStatus.FOUND
    limited = auth_client.post(url(post), {"given": "0"})
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert b"Slow down" in limited.content
    htmx = auth_client.post(url(post), {"given": "0"}, **HTMX)
    assert htmx.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert b"Please wait a minute" in htmx.content and b'id="thumbs-up"' in htmx.content
    assert htmx["X-Reader-Error"] == "1"
    assert "X-Reader-Error" not in limited  # a whole page, not a fragment to swap in
    assert ThumbsUp.objects.filter(post=post).count() == 1  # the refused "0" did nothing


@pytest.mark.django_db(transaction=True)
def test_readers_giving_thumbs_up_at_once_each_see_theirs_counted():
    """htmx thumbs up from real threads: every answer's count includes the reader's own, the
    final count is exact, and the post's page moved on."""
    from posts.pagecache import numbers, post_key
    from tests.concurrency import run_at_once
    from tests.factories import ensure_default_newsletter

    ensure_default_newsletter()
    post = PostFactory()
    readers = UserFactory.create_batch(10)
    clients = []
    for reader in readers:
        client = Client()
        client.force_login(reader)
        clients.append(client)
    before = numbers().get(post_key(post.pk), 0)

    responses = run_at_once(10, lambda i: clients[i].post(url(post), {"given": "1"}, **HTMX))

    assert not [r for r in responses if isinstance(r, Exception)], responses
    for response in responses:
        assert response.status_code == 200
        page = response.content.decode()
        assert "you included" in page
        shown = int(re.search(r'class="thumbs-number">(\d+)<', page).group(1))
        assert 1 <= shown <= 10
    assert ThumbsUp.objects.filter(post=post).count() == 10
    assert numbers()[post_key(post.pk)] > before
