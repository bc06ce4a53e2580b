"""Hostile text in every field a reader or an editor can write, shown on every page, feed and
email that shows it: always inert. Pages are parsed as a browser parses them (html5lib), not
searched for substrings, so markup that only turns dangerous once parsed is caught too."""

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from accounts.models import Subscription
from comments.models import Commenter, CommentReport
from comments.services import send_reply_notification
from newsletter import welcome as welcome_series
from newsletter.models import Newsletter
from newsletter.services import send_test_email
from polls.models import Choice
from tests.factories import (
    CommentFactory,
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
    UserFactory,
)
from tests.posts.pictures import jpeg_bytes
from tests.security.inert import problems, visible_text
from tests.security.payloads import MARKER, PAYLOADS, chunks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def fit(text: str, length: int) -> str:
    return text[:length]


def short(text: str, length: int) -> str:
    """For short fields: the marker first, then as much of the payload as fits (a cut-off
    payload is broken markup, one more thing to survive)."""
    return f"{MARKER} {text}"[:length]


class Hostile:
    """The payload in every field of every kind of thing, written as readers and editors
    would write it."""

    def __init__(self, payload: str):
        self.payload = payload
        self.author = EditorFactory(display_name=short(payload, 60), bio=fit(payload, 280))
        self.tag = TagFactory(name=short(payload, 50), slug="hostile-tag", description=payload)
        self.post = PostFactory(
            slug="hostile",
            title=fit(payload, 200),
            subtitle=fit(payload, 300),
            body=f"<p>{payload}</p><p>{MARKER} body</p>",
            daily_takeaway=payload,
            cover_alt=fit(payload, 250),
        )
        self.post.cover.save("cover.jpg", ContentFile(jpeg_bytes(size=(96, 64))), save=False)
        self.post.save()
        self.post.authors.add(self.author)
        self.post.tags.add(self.tag)
        self.poll = PollFactory(post=self.post, question=fit(payload, 300), choices=[])
        Choice.objects.create(poll=self.poll, text=fit(payload, 200), position=0)
        Choice.objects.create(poll=self.poll, text=f"{MARKER} plain", position=1)
        self.reader = SubscriptionFactory(
            user__display_name=short(payload, 60), source=short(payload, 100)
        ).user
        Commenter.objects.create(
            user=self.reader, is_banned=False, ban_reason=fit(payload, 300), notify_replies=True
        )
        self.comment = CommentFactory(post=self.post, author=self.reader, body=payload)
        self.replier = SubscriptionFactory(user__display_name=short(payload, 60)).user
        self.reply = CommentFactory(
            post=self.post, author=self.replier, parent=self.comment, body=payload
        )
        CommentReport.objects.create(
            comment=self.comment, reporter=self.replier, reason="spam", details=payload
        )


CHUNKS = chunks(200)


def test_every_payload_is_in_a_chunk():
    assert all(any(payload in chunk for chunk in CHUNKS) for payload in PAYLOADS)


@pytest.fixture(params=range(len(CHUNKS)), ids=lambda i: f"payloads{i}")
def hostile(request):
    return Hostile(CHUNKS[request.param])


def assert_inert(
    html: str, where: str, *, email: bool = False, admin: bool = False, shown: bool = True
):
    found = problems(html, email=email, admin=admin)
    assert found == [], f"{where}: {found}"
    if shown:
        assert MARKER in visible_text(html), f"{where}: the hostile text never reached the page"


def test_public_pages(hostile, client):
    post = hostile.post
    pages = {
        "home": "/",
        "archive": "/archive/",
        "post": post.get_absolute_url(),
        "thread": f"/p/{post.slug}/comments/{hostile.comment.pk}/",
        "tag": f"/tag/{hostile.tag.slug}/",
        "author": f"/author/{hostile.author.pk}/",
        "search": f"/search/?q={MARKER}",
        "search echo": f"/search/?q={quote(hostile.payload)}",
        "subscribe next": f"/subscribe/?next={quote(hostile.payload)}",
        "login next": f"/accounts/login/code/?next={quote(hostile.payload)}",
    }
    for where, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, where
        echo = where in {"search echo", "subscribe next", "login next"}
        assert_inert(response.content.decode(), where, shown=not echo)


def test_reader_pages(hostile, client):
    """What the reader themself sees: their account, and the ban reason when they comment."""
    client.force_login(hostile.reader)
    assert_inert(client.get("/account/").content.decode(), "account")
    Commenter.objects.filter(user=hostile.reader).update(is_banned=True)
    response = client.post(f"/p/{hostile.post.slug}/comments/new/", {"body": "hello"})
    assert response.status_code == 403
    assert_inert(response.content.decode(), "ban notice")


def test_feeds_are_well_formed_and_their_html_inert(hostile, client):
    for path in ["/feed/", "/feed/atom/"]:
        body = client.get(path).content
        # Our own feed, generated by this test: a payload never breaks the XML.
        root = ET.fromstring(body)  # noqa: S314
        html_parts = [
            element.text or ""
            for element in root.iter()
            if element.tag.rsplit("}", 1)[-1] in {"description", "content", "summary"}
        ]
        assert html_parts, path
        for part in html_parts:
            assert problems(part) == [], (path, problems(part))
        titles = [e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "title"]
        assert hostile.post.title in titles  # plain text, shown as text


def test_admin_pages(hostile):
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    post, poll, comment = hostile.post, hostile.poll, hostile.comment
    pages = {
        "posts": "/admin/posts/post/",
        "post form": f"/admin/posts/post/{post.pk}/change/",
        "tags": "/admin/posts/tag/",
        "polls": "/admin/polls/poll/",
        "poll results": f"/admin/polls/poll/{poll.pk}/results/",
        "comments": "/admin/comments/comment/",
        "comment form": f"/admin/comments/comment/{comment.pk}/change/",
        "reports": "/admin/comments/commentreport/",
        "commenters": "/admin/comments/commenter/",
        "subscribers": "/admin/accounts/subscription/",
        "readers": "/admin/accounts/user/",
        "reader form": f"/admin/accounts/user/{hostile.reader.pk}/change/",
        "newsletter test": f"/admin/posts/post/{post.pk}/newsletter/test/",
    }
    for where, path in pages.items():
        response = admin.get(path)
        assert response.status_code == 200, where
        assert_inert(response.content.decode(), f"admin {where}", admin=True)


def test_emails(hostile, mailoutbox):
    # The newsletter, as subscribers get it.
    send_test_email(post=hostile.post, to_user=hostile.author, mode="full", teaser_words=150)
    # The welcome series' first email names the latest post.
    Subscription.objects.filter(user=hostile.reader).update(confirmed_at=timezone.now())
    welcome_series.enter_series(user=hostile.reader, newsletter=Newsletter.objects.default())
    assert welcome_series.run_due(worker_id="w") == {"sent": 1}
    # The reply notification quotes the replier and their words.
    assert send_reply_notification(comment=hostile.reply)
    newsletter, welcome, reply = mailoutbox
    for name, message in [("newsletter", newsletter), ("welcome", welcome)]:
        (html, mimetype), *_ = message.alternatives
        assert mimetype == "text/html"
        assert_inert(html, name, email=True)
        assert "\n" not in message.subject and "\r" not in message.subject
    # Plain text only: a mail client shows the words, it runs nothing.
    assert reply.alternatives == []
    assert MARKER in reply.body
    assert "\n" not in reply.subject


def test_json_ld_stays_data(hostile, client):
    """The page's structured data carries the title and names; it must stay one JSON value."""
    html = client.get(hostile.post.get_absolute_url()).content.decode()
    start = html.index('<script type="application/ld+json"')
    block = html[html.index(">", start) + 1 : html.index("</script>", start)]
    assert json.loads(block)["headline"] == hostile.post.title


def test_nul_bytes_are_refused_with_a_message_not_a_crash(client):
    """PostgreSQL cannot store a NUL character; forms refuse it before it gets that far."""
    post = PostFactory()
    reader = SubscriptionFactory().user
    Commenter.objects.create(user=reader, is_trusted=True)
    client.force_login(reader)
    for path, data in [
        (f"/p/{post.slug}/comments/new/", {"body": "hello\x00world"}),
        ("/account/", {"display_name": "Ada\x00"}),
        ("/search/?q=a%00b", None),
    ]:
        response = client.post(path, data) if data is not None else client.get(path)
        assert response.status_code in {200, 400}, path
    assert not reader.comments.exists()
    client.logout()
    response = client.post("/subscribe/", {"email": "a\x00@example.com"})
    assert response.status_code == 200 and response.context["form"].errors


# Payloads that are only text even when pasted into a page unescaped: they test double
# escaping and decoding, or trick naive tag-stripping filters, not an HTML parser.
TEXT_ONLY = {
    "<scr<script>ipt>alert(1)</scr</script>ipt> ffxss",
    "&lt;script&gt;alert(1)&lt;/script&gt; ffxss",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E ffxss",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e ffxss",
    "javascript:alert(1) ffxss",
    "{{ 7|add:7 }} {% now 'Y' %} ffxss",
}


@pytest.mark.parametrize("payload", sorted(set(PAYLOADS) - TEXT_ONLY))
def test_the_checker_would_catch_each_payload_left_raw(payload):
    """The checks above are only worth something if a payload that got through unescaped
    would fail them: here each one is pasted raw into a page, where it must be caught."""
    for context in (
        f"<p>{payload}</p>",
        f'<input value="{payload}">',
        f"<input value='{payload}'>",
    ):
        if problems(f"<!doctype html><html><body>{context}</body></html>"):
            break
    else:
        raise AssertionError(f"Nothing would catch {payload!r} if it were left raw")
