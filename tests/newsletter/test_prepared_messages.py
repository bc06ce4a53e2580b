"""Each reader's copy of a send made from the send's finished bytes (newsletter.prepared): the
real send path into a real SMTP listener, every received message parsed with Python's email
package, every personal link in both parts and the headers checked against its reader."""

import re
from collections import Counter
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from accounts.models import Subscription, User
from accounts.referrals import referrer_for_code
from newsletter import rendering, services
from newsletter.links import ids_from_leave_token, user_id_from_manage_token
from newsletter.models import Delivery, NewsletterSend
from newsletter.prepared import prepare
from polls.services import read_vote_token
from tests.factories import PollFactory, PostFactory, make_subscribers

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
LINK_RE = re.compile(r"http://testserver/[^\s\"<>]+")


def send_post(post):
    return services.create_send(
        post=post, created_by=None, mode=NewsletterSend.Mode.FULL, teaser_words=150
    )


def raw_lines(raw: bytes) -> list[bytes]:
    return raw.replace(b"\r\n", b"\n").split(b"\n")


def check_links_belong_to(
    message, reader, *, newsletter_id, poll, choices, encodings=("7bit", "8bit")
) -> None:
    """Every signed link of the message, in the headers and both parts, is reader's own."""
    header = message["List-Unsubscribe"]
    leave = header.split(",")[0].strip().strip("<>")
    assert ids_from_leave_token(urlsplit(leave).path.split("/")[3]) == (reader.pk, newsletter_id)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["To"] == reader.email
    for part in ("plain", "html"):
        body = message.get_body((part,))
        assert body["Content-Transfer-Encoding"] in encodings
        content = body.get_content()
        assert "ffslot" not in content and "%%FF:" not in content
        links = [link.replace("&amp;", "&") for link in LINK_RE.findall(content)]
        assert leave in links, part
        manage = [link for link in links if "/newsletter/manage/" in link]
        assert manage and all(
            user_id_from_manage_token(urlsplit(link).path.split("/")[3]) == reader.pk
            for link in manage
        ), part
        referral = [link for link in links if "/r/" in urlsplit(link).path[:3]]
        assert referral and all(
            referrer_for_code(urlsplit(link).path.split("/")[2]) == reader for link in referral
        ), part
        votes = [urlsplit(link).path.split("/")[3] for link in links if "/polls/email/" in link]
        assert len(votes) == len(choices), part
        for token, choice in zip(votes, choices, strict=True):
            vote = read_vote_token(token)
            assert (vote.user_id, vote.poll_id, vote.choice_id) == (reader.pk, poll.pk, choice.pk)
        for link in links:
            if "/newsletter/leave/" in link:
                assert link == leave, part


def test_every_reader_gets_their_own_links_from_the_shared_bytes(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    readers = make_subscribers(7)
    post = PostFactory()
    poll = PollFactory(post=post, choices=["Trams", "Bikes", "Feet"])
    choices = list(poll.choices.order_by("position"))
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(post)
    send.refresh_from_db()
    # The send's email takes the fast way: its bytes have room for every reader's values.
    assert prepare(
        rendering.Rendered(subject=send.subject, html=send.html_body, text=send.text_body),
        newsletter=send.newsletter,
    )
    assert send.status == NewsletterSend.Status.FINISHED
    assert send.sent_count == len(readers)

    raw = list(smtp.handler.raw)
    messages = smtp.handler.messages
    by_address = {reader.email: reader for reader in readers}
    assert Counter(message["To"] for message in messages) == Counter(list(by_address))
    for content, message in zip(raw, messages, strict=True):
        assert all(len(line) <= 998 for line in raw_lines(content))
        assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
        assert message["Subject"] == post.title
        assert parsedate_to_datetime(message["Date"]) is not None
        check_links_belong_to(
            message,
            by_address[message["To"]],
            newsletter_id=send.newsletter_id,
            poll=poll,
            choices=choices,
        )
        assert post.title.upper() in message.get_body(("plain",)).get_content()
        assert post.title in message.get_body(("html",)).get_content()
    assert len({message["Message-ID"] for message in messages}) == len(messages)


def test_a_message_the_fast_way_cannot_carry_is_built_the_slow_way_with_the_same_links(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    # A word of 3,000 letters cannot be folded under SMTP's 998 bytes per line: the email
    # package switches that part to quoted-printable, where a slot could be cut in two.
    readers = make_subscribers(3)
    post = PostFactory(body=f"<p>{'x' * 3000}</p>")
    poll = PollFactory(post=post)
    choices = list(poll.choices.order_by("position"))
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(post)
    send.refresh_from_db()
    assert (
        prepare(
            rendering.Rendered(subject=send.subject, html=send.html_body, text=send.text_body),
            newsletter=send.newsletter,
        )
        is None
    )
    messages = smtp.handler.messages
    assert sorted(message["To"] for message in messages) == sorted(r.email for r in readers)
    by_address = {reader.email: reader for reader in readers}
    for message in messages:
        assert "x" * 3000 in message.get_body(("html",)).get_content()
        check_links_belong_to(
            message,
            by_address[message["To"]],
            newsletter_id=send.newsletter_id,
            poll=poll,
            choices=choices,
            encodings=("7bit", "8bit", "quoted-printable"),
        )


def test_a_reader_whose_address_needs_encoding_is_still_sent_their_own_message(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    readers = make_subscribers(2)
    # An address with a quoted local part is taken the slow way, where Django encodes it.
    odd = User.objects.create(email='"odd reader"@example.com', password="!")
    Subscription.objects.create(user=odd, status=Subscription.Status.ACTIVE, source="test")
    post = PostFactory()
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(post)
    send.refresh_from_db()
    assert send.sent_count == 3
    assert Delivery.objects.filter(send=send, status=Delivery.Status.SENT).count() == 3
    received = {message["To"].addresses[0].addr_spec for message in smtp.handler.messages}
    assert received == {reader.email for reader in readers} | {odd.email}


def test_long_links_still_fit_the_line_limit(
    smtp, fast_newsletter, settings, django_capture_on_commit_callbacks
):
    # A site address of 200 characters makes every personal link long; lines stay under 998.
    settings.SITE_URL = "http://" + "long" * 48 + ".example"
    make_subscribers(2)
    post = PostFactory()
    PollFactory(post=post)
    with django_capture_on_commit_callbacks(execute=True):
        send_post(post)
    raw = list(smtp.handler.raw)
    assert len(raw) == 2
    for content in raw:
        assert all(len(line) <= 998 for line in raw_lines(content))
        assert b"ffslot" not in content
