"""Post pages for logged-in readers (posts/pagecache/readerpages.py): stored once per kind of
reader, with each reader's own parts (name, vote, thumbs up, likes, own comments, reply-email
choice) filled for them alone, and never anyone else's."""

import re
from http import HTTPStatus

import pytest
from django.db import connection
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext

from comments.models import Comment, Commenter
from comments.services import like_comment
from polls.services import cast_vote
from posts.models import Post
from posts.services import set_thumbs_up
from tests.factories import (
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def reader(name: str, *, notify: bool = False):
    user = SubscriptionFactory(user__display_name=name).user
    Commenter.objects.create(user=user, is_trusted=True, notify_replies=notify)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def post(db):
    return PostFactory(slug="talked-about", title="A post people talk about")


@pytest.fixture
def poll(post):
    return PollFactory(post=post, choices=["Yes", "No"], question="Agreed?")


@pytest.fixture
def ada():
    return reader("Ada Lovelace")


@pytest.fixture
def bob():
    return reader("Bob Builder")


def page(client, post) -> str:
    response = client.get(post.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def article(html: str, comment) -> str:
    """The <article> of one comment on the page."""
    found = re.search(rf'<article id="comment-{comment.pk}".*?</article>', html, re.S)
    assert found, f"comment {comment.pk} is not on the page"
    return found.group(0)


def your_vote(html: str) -> str:
    """The text of the choice the page marks as the reader's vote ('' if none)."""
    found = re.search(r'poll-option-text">([^<]*) <strong class="poll-mine">Your vote', html)
    return found.group(1) if found else ""


def header_name(html: str) -> str:
    """The name the header shows for the logged-in reader."""
    return re.search(r'class="nav-user">([^<]*)<', html).group(1)


def no_tokens(html: str) -> str:
    """The page without its per-render CSRF tokens and without the comments' relative times
    ("5 seconds ago"), which move on between two renders on a slow machine."""
    html = re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html)
    return re.sub(r'(data-local="title">)[^<]*(</time>)', r"\1WHEN\2", html)


@pytest.fixture
def conversation(post, poll, ada, bob):
    """Ada voted Yes, liked Carol's comment and wrote one; Bob voted No."""
    carol = UserFactory(display_name="Carol")
    carols = Comment.objects.create(post=post, author=carol, body="Carol thinks so.")
    adas = Comment.objects.create(post=post, author=ada.user, body="Ada agrees.")
    like_comment(comment=carols, user=ada.user)
    cast_vote(poll=poll, choice_id=poll.choices.get(text="Yes").pk, user=ada.user)
    cast_vote(poll=poll, choice_id=poll.choices.get(text="No").pk, user=bob.user)
    return carols, adas


def test_each_reader_sees_their_own_state_and_nobody_elses(post, ada, bob, conversation):
    carols, adas = conversation
    first = page(ada, post)  # stores the page for their kind of reader
    second = page(bob, post)  # from the stored page
    for html, me in [(first, ada), (second, bob)]:
        assert header_name(html) == me.user.public_name
    assert your_vote(first) == "Yes" and your_vote(second) == "No"
    assert 'aria-pressed="true"' in article(first, carols)  # Ada liked it
    assert 'aria-pressed="false"' in article(second, carols)
    assert "Edit" in article(first, adas) and "Report" not in article(first, adas)
    assert "Edit" not in article(second, adas) and "Report" in article(second, adas)
    # And Ada again, now from the stored page too.
    assert no_tokens(page(ada, post)) == no_tokens(first)


def test_the_stored_page_is_what_a_full_render_shows(post, ada, conversation, settings):
    page(ada, post)
    stored = page(ada, post)
    settings.POSTS_PAGE_CACHE_SECONDS = 0
    assert no_tokens(stored) == no_tokens(page(ada, post))


def test_a_stored_page_costs_two_queries(post, ada, bob, conversation, django_assert_num_queries):
    page(ada, post)
    page(bob, post)
    # The session with its reader, and one query for their kind, votes, likes and the versions.
    with django_assert_num_queries(2):
        page(bob, post)


def test_a_vote_shows_at_once_to_the_voter_and_to_everyone(post, poll, ada, bob, conversation):
    before = page(bob, post)
    assert "1 voter" not in before  # two voters: Ada and Bob
    no = poll.choices.get(text="No")
    response = ada.post(f"/polls/{poll.pk}/vote/", {"choice": no.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == HTTPStatus.OK
    assert your_vote(page(ada, post)) == "No"
    assert re.search(
        r">No <strong[^>]*>Your vote</strong></span>\s*<span[^>]*>100%", page(bob, post)
    )


def test_a_new_comment_and_a_like_show_at_once(post, ada, bob, conversation):
    carols, _adas = conversation
    page(bob, post)
    bob.post(f"/p/{post.slug}/comments/new/", {"body": "Bob has doubts."}, HTTP_HX_REQUEST="true")
    bob.post(f"/comments/{carols.pk}/like/", {"action": "like"}, HTTP_HX_REQUEST="true")
    html = page(ada, post)
    assert "Bob has doubts." in html and "3 comments" in html
    assert '<span class="like-count">2</span>' in article(html, carols)
    mine = page(bob, post)
    assert "Edit" in mine.split("Bob has doubts.")[1][:3000]  # his new comment is his


def test_thumbs_up_shows_whose_it_is(post, ada, bob):
    set_thumbs_up(post=post, user=ada.user, given=True)
    assert "you included" in page(ada, post)
    html = page(bob, post)
    assert "you included" not in html and "1</span> reader gave" in html


def test_a_comment_awaiting_review_shows_to_its_author_only(post, ada, bob, conversation):
    page(bob, post)
    Comment.objects.create(
        post=post, author=ada.user, body="Held for now.", status=Comment.Status.HELD
    )
    assert "Held for now." in page(ada, post)
    assert "Held for now." not in page(bob, post)


def test_editors_get_their_page_rendered_in_full(post, bob, conversation):
    page(bob, post)
    editor = Client()
    editor.force_login(EditorFactory(display_name="Eve Editor"))
    html = page(editor, post)
    assert "Eve Editor" in html and "Moderate" in html
    assert "Moderate" not in page(bob, post)


def test_kinds_of_reader_get_their_own_stored_page(ada):
    opening = "".join(f"<p>{'Words that open the post. ' * 10}</p>" for _ in range(3))
    members = PostFactory(
        slug="members", audience=Post.Audience.SUBSCRIBERS, body=opening + "<p>Deep.</p>"
    )
    stranger = Client()
    stranger.force_login(UserFactory(display_name="Not Subscribed"))
    unverified = Client()
    unverified.force_login(UserFactory(verified=False, display_name="Unconfirmed"))
    assert "Deep." in page(ada, members)
    html = page(stranger, members)
    assert "Deep." not in html and header_name(html) == "Not Subscribed"
    html = page(unverified, members)
    assert "Confirm your email" in html and header_name(html) == "Unconfirmed"
    assert "Deep." in page(ada, members)


def test_the_reply_email_choice_is_the_readers_own(post, conversation):
    carols, _adas = conversation
    wants = reader("Wants Mail", notify=True)
    does_not = reader("No Mail", notify=False)
    checked = 'name="notify_replies" checked'

    def comment_form(client) -> str:
        return re.search(r'id="comment-form".*?</form>', page(client, post), re.S).group(0)

    assert checked in comment_form(wants)
    assert checked not in comment_form(does_not)
    assert checked in comment_form(wants)
    # The reply form is not on the stored page: it is loaded for the reader who asks for it.
    assert 'name="notify_replies"' not in article(page(wants, post), carols)
    reply = f"/comments/{carols.pk}/reply/"
    assert checked in wants.get(reply, HTTP_HX_REQUEST="true").content.decode()
    assert checked not in does_not.get(reply, HTTP_HX_REQUEST="true").content.decode()


def test_csrf_tokens_on_a_stored_page_belong_to_the_reader(post, ada, bob, conversation):
    page(ada, post)
    html = page(bob, post)
    secret = bob.cookies["csrftoken"].value
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', html)
    assert tokens and {_unmask_cipher_token(token) for token in tokens} == {secret}


def test_a_reader_with_a_message_waiting_gets_it(post, ada, bob, conversation):
    page(bob, post)
    ada.post("/comments/reply-emails/", {"receive": "on", "next": post.get_absolute_url()})
    assert "You will get an email when someone replies to you." in page(ada, post)
    assert "You will get an email" not in page(bob, post)


def test_pages_are_stored_only_for_readers_who_can_be_shared_with(post, ada, settings):
    with CaptureQueriesContext(connection) as first:
        page(ada, post)
    with CaptureQueriesContext(connection) as second:
        page(ada, post)
    assert len(second) < len(first)


def test_a_name_with_markup_is_shown_escaped_as_a_full_render_does(post, ada, settings):
    odd = reader('<b>Ann & "Co"</b>')
    page(ada, post)  # the header is stored for everyone
    stored = page(odd, post)
    assert "&lt;b&gt;Ann &amp; &quot;Co&quot;&lt;/b&gt;" in stored and "<b>Ann" not in stored
    settings.POSTS_PAGE_CACHE_SECONDS = 0
    assert no_tokens(stored) == no_tokens(page(odd, post))
