"""The poll's place in the body: the editor's poll block puts the post's polls there, on the
page and in the email; without one, each poll's Placement decides as before."""

import re

import pytest

from newsletter import rendering
from newsletter.models import NewsletterSend
from polls.models import Poll
from posts.models import Post
from tests.factories import PollFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

LANDMARKS = ["Words before.", "Would you give up your car?", "Words after.", "The takeaway."]


def order(text: str) -> list[str]:
    found = {landmark: text.find(landmark) for landmark in LANDMARKS}
    assert all(index >= 0 for index in found.values()), found
    return sorted(LANDMARKS, key=found.get)


def email_for(post, user):
    rendered = rendering.render_newsletter(
        post=post, mode=NewsletterSend.Mode.FULL, teaser_words=150
    )
    return rendering.personalise(rendered, user=user)


@pytest.mark.parametrize("placement", [Poll.Placement.AFTER_BODY, Poll.Placement.END])
def test_the_poll_goes_where_the_editor_put_its_block(client, placement):
    post = PostFactory(body='<p>Words before.</p><div class="poll-slot"></div><p>Words after.</p>')
    poll = PollFactory(post=post, question="Would you give up your car?", placement=placement)

    page = client.get(post.get_absolute_url()).content.decode()
    message = email_for(post, UserFactory())
    html = message.alternatives[0][0]

    assert order(page) == LANDMARKS
    assert page.count("Would you give up your car?") == 1
    assert order(html) == LANDMARKS
    assert order(message.body) == LANDMARKS
    # In the email the poll is the reader's own signed vote links, in both parts.
    for text in (html, message.body):
        tokens = re.findall(r"http://testserver/polls/email/([^/\s\"]+)/", text)
        assert len(set(tokens)) == poll.choices.count()


def test_without_a_block_the_placement_still_decides(client):
    post = PostFactory(body="<p>Words before.</p><p>Words after.</p>")
    PollFactory(post=post, question="Would you give up your car?", placement=Poll.Placement.END)

    page = client.get(post.get_absolute_url()).content.decode()
    expected = ["Words before.", "Words after.", "The takeaway.", "Would you give up your car?"]
    assert order(page) == expected
    assert order(email_for(post, UserFactory()).body) == expected


def test_a_block_without_a_poll_shows_nothing(client):
    post = PostFactory(body='<p>Words before.</p><div class="poll-slot"></div><p>Words after.</p>')

    page = client.get(post.get_absolute_url()).content.decode()
    message = email_for(post, UserFactory())

    assert 'class="poll' not in page.replace('class="post', "")
    assert "Words before." in page and "Words after." in page
    assert "Words after." in message.body and "POLL" not in message.body


def test_a_logged_in_reader_votes_in_the_poll_at_its_block(auth_client):
    post = PostFactory(body='<p>Words before.</p><div class="poll-slot"></div><p>Words after.</p>')
    PollFactory(post=post, question="Would you give up your car?")

    for _ in range(2):  # the page cache's first render, then the kept page with the reader's slot
        page = auth_client.get(post.get_absolute_url()).content.decode()
        assert order(page) == LANDMARKS
        voting = page[page.index("Words before.") : page.index("Words after.")]
        assert 'type="radio"' in voting


def test_readers_held_at_the_gate_see_the_poll_by_its_placement_when_its_block_is_beyond(client):
    post = PostFactory(
        audience=Post.Audience.SUBSCRIBERS,
        body='<p>Words before.</p><hr class="more"><p>Hidden words.</p>'
        '<div class="poll-slot"></div><p>Words after.</p>',
    )
    PollFactory(post=post, question="Would you give up your car?")

    page = client.get(post.get_absolute_url()).content.decode()

    assert "Hidden words." not in page and "Words after." not in page
    assert page.index("Words before.") < page.index("Would you give up your car?")
    assert page.count("Would you give up your car?") == 1
