"""Sending a post by email to the subscribers: rendering, the send services and the pipeline.

How a send runs
---------------
`create_send()` records the send. When it goes out now, `start_send()` renders the shared part of
the email once (stored on the send, with placeholders where the personal links go), inserts one
Delivery row per active subscriber with a single INSERT ... SELECT (nothing is loaded into
Python, so 100,000 subscribers cost no memory), and enqueues a few `send_batch` tasks on commit.
A send "at the publish time" waits for a `watch_send` task that runs at that time.

Each `send_batch` task claims a batch of pending rows (SELECT ... FOR UPDATE SKIP LOCKED, then
a lease: the rows' `available_at` moves into the future), sends them over one SMTP connection,
marks each row right after the server accepted it, and enqueues its successor. Several workers
therefore split the work, and a worker that dies leaves its claimed rows to be taken again when
their lease runs out. A worker that is alive but slow renews its lease before it expires, and
drops any row it no longer owns, so a row is never in two workers' hands at once.

Exactly once, and its known gaps: a row is marked sent in its own small transaction right
after the mail server answered 250. If the worker is killed hard in the instant between that
answer and the commit, that one message goes out again after the restart. Nothing else is sent
twice, and no pending row is dropped. Those marks commit without waiting for PostgreSQL to flush
its log to disk (synchronous_commit off, for this connection while it delivers): a killed worker
loses nothing by it, but a crash of the database server itself may forget the last fraction of
a second of marks, and those few readers would get the post twice. NEWSLETTER_DURABLE_MARKS=true
makes every mark durable, at several milliseconds per message.

Failures: a permanent refusal of the recipient (5xx) marks the delivery and the subscription
bounced; a temporary one (4xx) retries that delivery later with exponential backoff; a mail
server that is unreachable or drops the connection pauses the whole send with backoff
(`retry_at`) instead of burning through the list. A `watch_send` task per send restarts the
batches if every worker died and finishes the send when nothing is left.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import secrets
import smtplib
import textwrap
import time
from dataclasses import dataclass
from datetime import timedelta
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import nh3
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Min
from django.db.models.functions import Now
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from accounts.models import Delivery, NewsletterSend, Subscription, User
from accounts.services import mark_bounced, unsubscribe_url
from polls import services as polls_services

logger = logging.getLogger(__name__)

DEFAULTS = {
    "NEWSLETTER_BATCH_SIZE": 100,
    "NEWSLETTER_PARALLEL": 4,
    "NEWSLETTER_LEASE_SECONDS": 600,
    "NEWSLETTER_RETRY_SECONDS": 60,
    "NEWSLETTER_RETRY_MAX_SECONDS": 3600,
    "NEWSLETTER_MAX_ATTEMPTS": 5,
    "NEWSLETTER_WATCHDOG_SECONDS": 60,
    "NEWSLETTER_STALL_SECONDS": 300,
    "NEWSLETTER_DURABLE_MARKS": False,
}


def conf(name: str):
    return getattr(settings, name, DEFAULTS[name])


class NewsletterError(Exception):
    """A send the editor asked for cannot happen; the message says why."""


# --- Rendering ---------------------------------------------------------------------------------

# Personal links are left as placeholders in the shared render and filled in per subscriber.
PLACEHOLDER_RE = re.compile(r"%%FF:(unsubscribe|vote:(\d+):(\d+))%%")
UNSUBSCRIBE_PLACEHOLDER = "%%FF:unsubscribe%%"
MORE_RE = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)

INK = "#1a1d21"
INK_SOFT = "#4a5059"
ACCENT = "#0b4f6c"
LINE = "#d8dbe0"
PAPER_SOFT = "#f4f5f7"
SERIF = "Georgia,'Times New Roman',serif"
# Mail clients drop <link> and most <style>, so each element of the post body gets its style
# inline. The dark-mode overrides in the template's <style> block use !important over these.
BODY_STYLES = {
    "p": f"margin:0 0 18px;font-size:17px;line-height:1.65;color:{INK}",
    "h1": f"margin:30px 0 12px;font-family:{SERIF};font-size:28px;line-height:1.25;color:{INK}",
    "h2": f"margin:30px 0 12px;font-family:{SERIF};font-size:24px;line-height:1.3;color:{INK}",
    "h3": f"margin:26px 0 10px;font-family:{SERIF};font-size:20px;line-height:1.3;color:{INK}",
    "h4": f"margin:22px 0 8px;font-size:17px;line-height:1.3;color:{INK}",
    "a": f"color:{ACCENT};text-decoration:underline",
    "blockquote": (
        f"margin:22px 0;padding:2px 0 2px 16px;border-left:4px solid {LINE};color:{INK_SOFT}"
    ),
    "ul": "margin:0 0 18px;padding-left:24px",
    "ol": "margin:0 0 18px;padding-left:24px",
    "li": f"margin:0 0 8px;font-size:17px;line-height:1.6;color:{INK}",
    "img": "display:block;max-width:100%;height:auto;border:0;margin:0 auto",
    "figure": "margin:22px 0",
    "figcaption": f"margin-top:6px;font-size:14px;line-height:1.4;color:{INK_SOFT}",
    "pre": (
        f"margin:0 0 18px;padding:12px;background:{PAPER_SOFT};border-radius:6px;"
        "white-space:pre-wrap;font-size:14px;line-height:1.5"
    ),
    "code": "font-family:Menlo,Consolas,monospace;font-size:15px",
    "hr": f"border:0;border-top:1px solid {LINE};margin:28px 0",
    "table": "border-collapse:collapse;margin:0 0 18px;width:100%",
    "td": f"border:1px solid {LINE};padding:6px 8px;font-size:15px",
    "th": f"border:1px solid {LINE};padding:6px 8px;font-size:15px;text-align:left",
}
EMAIL_TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area", "details", "summary", "nav"}


def absolute_url(url: str) -> str:
    """Return url made absolute against SITE_URL (links in email must not be relative)."""
    return urljoin(f"{settings.SITE_URL}/", url)


def email_body_html(html: str) -> str:
    """Return post HTML fit for email: allow-listed tags, inline styles, absolute URLs."""
    return nh3.clean(
        html,
        tags=EMAIL_TAGS,
        set_tag_attribute_values={tag: {"style": style} for tag, style in BODY_STYLES.items()},
        url_relative=absolute_url,
    )


def teaser_html(html: str, words: int) -> tuple[str, bool]:
    """Return the opening of a post (up to a <!--more--> marker, else `words` words) and
    whether anything was cut."""
    marker = MORE_RE.search(html)
    if marker:
        return html[: marker.start()], True
    if len(strip_tags(html).split()) <= words:
        return html, False
    return Truncator(html).words(words, html=True, truncate="…"), True


class _TextConverter(HTMLParser):
    """Turns the email's body HTML into readable plain text for the text/plain part."""

    BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "pre",
              "figure", "table", "tr", "hr"}  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str | None] = []
        self.link_text: list[str] = []
        self.quote = 0
        self.pre = 0

    def _write(self, text: str) -> None:
        if self.href and self.href[-1] is not None:
            self.link_text.append(text)
        self.out.append(text)

    def _newline(self, count: int = 2) -> None:
        self.out.append("\n" * count)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.BLOCKS:
            self._newline()
        if tag in {"h1", "h2", "h3"}:
            self.out.append("## ")
        elif tag == "li":
            self._newline(1)
            self.out.append("- ")
        elif tag == "br":
            self._newline(1)
        elif tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "hr":
            self.out.append("----")
        elif tag == "img" and attrs.get("alt"):
            self.out.append(f"[{attrs['alt']}]")
        elif tag == "a":
            self.href.append(attrs.get("href"))
            self.link_text = []

    def handle_endtag(self, tag):
        if tag == "a" and self.href:
            href = self.href.pop()
            text = "".join(self.link_text).strip()
            if href and not href.startswith("mailto:") and href != text:
                self.out.append(f" ({href})")
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.BLOCKS:
            self._newline()

    def handle_data(self, data):
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.quote and data.strip():
            data = "> " + data.lstrip()
        self._write(data)

    def text(self) -> str:
        raw = "".join(self.out)
        lines = [line.strip() if not self.pre else line.rstrip() for line in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Return a plain-text rendering of body HTML: paragraphs, lists and links kept readable."""
    converter = _TextConverter()
    converter.feed(html)
    converter.close()
    return unescape(converter.text())


def share_links(*, title: str, url: str) -> list[dict[str, str]]:
    """Return plain share links (no scripts, no trackers) for a post."""
    title_q, url_q = quote(title), quote(url, safe="")
    return [
        {"name": "X", "url": f"https://x.com/intent/tweet?text={title_q}&url={url_q}"},
        {"name": "LinkedIn", "url": f"https://www.linkedin.com/sharing/share-offsite/?url={url_q}"},
        {"name": "Facebook", "url": f"https://www.facebook.com/sharer/sharer.php?u={url_q}"},
        {"name": "Email", "url": f"mailto:?subject={title_q}&body={url_q}"},
    ]


def newsletter_context(*, post, mode: str, teaser_words: int) -> dict:
    """Return the template context of a post's email, with placeholders for personal links."""
    from posts.models import Post

    post_url = absolute_url(post.get_absolute_url())
    # Subscriber-only posts go out in full: the readers of this email are that audience.
    full = mode == NewsletterSend.Mode.FULL or post.audience == Post.Audience.SUBSCRIBERS
    body = post.body or ""
    is_teaser = False
    if not full:
        body, is_teaser = teaser_html(body, teaser_words)
    body_html = email_body_html(body)
    poll = polls_services.poll_for_email(post=post)
    poll_context = None
    if poll:
        poll_context = {
            "question": poll.question,
            "url": f"{post_url}#poll-{poll.pk}",
            "choices": [
                {"text": choice.text, "url": f"%%FF:vote:{poll.pk}:{choice.pk}%%"}
                for choice in poll.choices.all()
            ],
        }
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "post": post,
        "post_url": post_url,
        "authors": ", ".join(author.public_name for author in post.authors.all()),
        "cover_url": absolute_url(post.cover.url) if post.cover else "",
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "is_teaser": is_teaser,
        "takeaway": "" if is_teaser else post.daily_takeaway.strip(),
        "poll": poll_context,
        "share_links": share_links(title=post.title, url=post_url),
        "subscribe_url": absolute_url("/subscribe/"),
        "account_url": absolute_url("/account/"),
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "preheader": post.subtitle or Truncator(strip_tags(body)).words(25),
    }


@dataclass(frozen=True)
class Rendered:
    """The shared part of an email: the same for every subscriber but for the placeholders."""

    subject: str
    html: str
    text: str


# RFC 5322 allows 998 bytes per line; Django switches a part with longer lines to
# quoted-printable, which costs several milliseconds per message. Short lines keep it 8bit.
MAX_LINE_BYTES = 900


def fold_html(html: str) -> str:
    """Return html with every line under MAX_LINE_BYTES, broken at spaces (same rendering)."""
    lines = []
    for line in html.split("\n"):
        while len(line.encode()) > MAX_LINE_BYTES:
            head = line.encode()[:MAX_LINE_BYTES].decode(errors="ignore")
            cut = head.rfind(" ")
            if cut <= 0:
                cut = line.find(" ", len(head))
                if cut <= 0:
                    break
            lines.append(line[:cut])
            line = line[cut + 1 :]
        lines.append(line)
    return "\n".join(lines)


def wrap_text(text: str, width: int = 76) -> str:
    """Return plain text wrapped for mail readers; long URLs stay whole on their own line."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = "  " if line.startswith("- ") else "> " if line.startswith("> ") else ""
        out.append(
            textwrap.fill(
                line,
                width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def render_email(template_prefix: str, context: dict) -> Rendered:
    """Render templates/accounts/email/<prefix>_subject.txt, _message.txt and _message.html."""
    subject = render_to_string(f"accounts/email/{template_prefix}_subject.txt", context)
    text = render_to_string(f"accounts/email/{template_prefix}_message.txt", context)
    return Rendered(
        subject=" ".join(subject.split()),
        html=fold_html(render_to_string(f"accounts/email/{template_prefix}_message.html", context)),
        text=wrap_text(text.strip()) + "\n",
    )


def render_newsletter(*, post, mode: str, teaser_words: int) -> Rendered:
    """Render a post's email once; personalise() fills in each subscriber's links."""
    context = newsletter_context(post=post, mode=mode, teaser_words=teaser_words)
    return render_email("newsletter", context)


def list_headers(unsubscribe: str) -> dict[str, str]:
    """Return the list headers of every newsletter email, one-click unsubscribe included
    (RFC 2369 and RFC 8058): mail providers show their own "Unsubscribe" button from these."""
    value = f"<{unsubscribe}>"
    if mailto := getattr(settings, "NEWSLETTER_UNSUBSCRIBE_MAILTO", ""):
        value += f", <mailto:{mailto}?subject=unsubscribe>"
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return {
        "List-Unsubscribe": value,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.SITE_NAME} <newsletter.{host}>",
    }


def personalise(
    rendered: Rendered, *, user: User, connection=None, subject_prefix: str = ""
) -> EmailMultiAlternatives:
    """Return the message for one reader: the shared render with their own links filled in."""
    links: dict[str, str] = {}

    def link(match: re.Match) -> str:
        key = match.group(1)
        if key not in links:
            if key == "unsubscribe":
                links[key] = unsubscribe_url(user.pk)
            else:
                links[key] = polls_services.vote_url(
                    poll_id=int(match.group(2)), choice_id=int(match.group(3)), user_id=user.pk
                )
        return links[key]

    text = PLACEHOLDER_RE.sub(link, rendered.text)
    html = PLACEHOLDER_RE.sub(lambda match: escape(link(match)), rendered.html)
    message = EmailMultiAlternatives(
        subject=f"{subject_prefix}{rendered.subject}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers=list_headers(links.get("unsubscribe") or unsubscribe_url(user.pk)),
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


# --- Emails outside a send ---------------------------------------------------------------------


def send_test_email(*, post, to_user: User, mode: str, teaser_words: int) -> None:
    """Send the editor the email exactly as subscribers would get it, marked as a test.

    Raises the mail backend's error, so the admin can show it.
    """
    rendered = render_newsletter(post=post, mode=mode, teaser_words=teaser_words)
    personalise(rendered, user=to_user, subject_prefix=_("[Test] ")).send()


def send_welcome_email(*, user: User) -> bool:
    """Send the welcome email to a newly confirmed subscriber; return False if not subscribed."""
    from posts.models import Post

    subscription = Subscription.objects.filter(user=user).first()
    if subscription is None or not subscription.is_active:
        return False
    latest = Post.objects.published().first()
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "user": user,
        "latest": latest,
        "latest_url": absolute_url(latest.get_absolute_url()) if latest else "",
        "account_url": absolute_url("/account/"),
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
    }
    personalise(render_email("welcome", context), user=user).send()
    return True


# --- Starting, pausing and resuming a send ------------------------------------------------------


def enqueue_later(task, *, delay: float = 0, at=None, **kwargs) -> None:
    """Enqueue a task once the current transaction commits, optionally `delay` seconds later
    or at the time `at`.

    Backends that cannot defer (the immediate backend used by tests) skip deferred work: the
    send then waits, visibly, for the watchdog or an editor's "Resume".
    """
    if at is None and delay > 0:
        at = timezone.now() + timedelta(seconds=delay)

    def enqueue():
        pending = task
        if at is not None and at > timezone.now():
            if not task.get_backend().supports_defer:
                return
            pending = task.using(run_after=at)
        pending.enqueue(**kwargs)

    transaction.on_commit(enqueue)


def _start_batches(send: NewsletterSend, pending: int | None = None) -> None:
    from accounts.tasks import send_batch as send_batch_task

    if pending is None:
        pending = send.deliveries.pending().count()
    chains = max(
        1, min(conf("NEWSLETTER_PARALLEL"), math.ceil(pending / conf("NEWSLETTER_BATCH_SIZE")))
    )
    for _chain in range(chains):
        enqueue_later(send_batch_task, send_id=send.pk)


def _start_watchdog(send: NewsletterSend, *, delay: float = 0, at=None) -> None:
    from accounts.tasks import watch_send as watch_send_task

    send.watchdog_token = secrets.token_hex(8)
    NewsletterSend.objects.filter(pk=send.pk).update(watchdog_token=send.watchdog_token)
    enqueue_later(watch_send_task, delay=delay, at=at, send_id=send.pk, token=send.watchdog_token)


def active_subscriber_count() -> int:
    return Subscription.objects.active().count()


@transaction.atomic
def create_send(
    *, post, created_by: User | None, mode: str, teaser_words: int, at_publish_time: bool = False
) -> NewsletterSend:
    """Send a post to every active subscriber, now or at its publish time; return the send.

    Raises NewsletterError when the post was already sent or scheduled, or is not published.
    """
    from posts.models import Post

    post = Post.objects.select_for_update().get(pk=post.pk)
    existing = NewsletterSend.objects.filter(post=post).first()
    if existing:
        raise NewsletterError(already_sent_message(existing))
    now = timezone.now()
    if at_publish_time:
        if post.status == Post.Status.DRAFT or not post.published_at or post.published_at <= now:
            raise NewsletterError(
                _("Only a post scheduled for a future time can be sent at its publish time.")
            )
    elif not post.is_published():
        raise NewsletterError(
            _("Publish the post first: subscribers would find no page behind it.")
        )
    try:
        with transaction.atomic():
            send = NewsletterSend.objects.create(
                post=post,
                created_by=created_by,
                mode=mode,
                teaser_words=teaser_words,
                status=(
                    NewsletterSend.Status.SCHEDULED
                    if at_publish_time
                    else NewsletterSend.Status.SENDING
                ),
                scheduled_for=post.published_at if at_publish_time else None,
            )
    except IntegrityError as exc:
        # Two editors pressed the button at once: the database let only one send through.
        raise NewsletterError(_("This post was sent a moment ago by someone else.")) from exc
    if at_publish_time:
        _start_watchdog(send, at=send.scheduled_for)
    else:
        send = start_send(send=send)
    return send


def already_sent_message(send: NewsletterSend) -> str:
    if send.status == NewsletterSend.Status.SCHEDULED:
        return _("This post is already scheduled to go out by email at %(time)s.") % {
            "time": timezone.localtime(send.scheduled_for).strftime("%Y-%m-%d %H:%M")
        }
    return _("This post already went out by email (started %(time)s). A post is sent once.") % {
        "time": timezone.localtime(send.started_at or send.created_at).strftime("%Y-%m-%d %H:%M")
    }


def _insert_deliveries(send: NewsletterSend) -> int:
    """Insert one pending delivery per active subscriber in one statement; return how many."""
    delivery = Delivery._meta.db_table
    subscription = Subscription._meta.db_table
    user = User._meta.db_table
    # Table names come from our models, values are parameters.
    sql = f"""
        INSERT INTO {delivery} (send_id, user_id, status, attempts, last_error, available_at,
                                claimed_by)
        SELECT %s, s.user_id, %s, 0, '', statement_timestamp(), ''
        FROM {subscription} s JOIN {user} u ON u.id = s.user_id
        WHERE s.status = %s AND u.is_active
        ORDER BY s.user_id
        ON CONFLICT (send_id, user_id) DO NOTHING
    """  # noqa: S608 (table names from our models; values are parameters)  # nosec
    with connection.cursor() as cursor:
        cursor.execute(sql, [send.pk, Delivery.Status.PENDING, Subscription.Status.ACTIVE])
        return cursor.rowcount


@transaction.atomic
def start_send(*, send: NewsletterSend) -> NewsletterSend:
    """Render the email, create the deliveries and hand the work to the workers."""
    send = NewsletterSend.objects.select_for_update().select_related("post").get(pk=send.pk)
    rendered = render_newsletter(post=send.post, mode=send.mode, teaser_words=send.teaser_words)
    count = _insert_deliveries(send)
    now = timezone.now()
    send.subject = rendered.subject[:300]
    send.html_body = rendered.html
    send.text_body = rendered.text
    send.status = NewsletterSend.Status.SENDING
    send.started_at = now
    send.heartbeat_at = now
    send.recipients_count = count
    send.save()
    if count:
        _start_batches(send, pending=count)
        _start_watchdog(send, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"))
    else:
        finish_if_done(send_id=send.pk)
    return send


@transaction.atomic
def pause_send(*, send: NewsletterSend) -> NewsletterSend:
    """Stop handing out batches; messages already on their way finish. Resume picks up."""
    updated = NewsletterSend.objects.filter(
        pk=send.pk, status__in=[NewsletterSend.Status.SENDING, NewsletterSend.Status.SCHEDULED]
    ).update(status=NewsletterSend.Status.PAUSED, watchdog_token="")
    if not updated:
        raise NewsletterError(_("Only a scheduled or running send can be paused."))
    send.refresh_from_db()
    return send


@transaction.atomic
def resume_send(*, send: NewsletterSend) -> NewsletterSend:
    """Start (again) the batches of a paused or stalled send, or a paused scheduled one."""
    send = NewsletterSend.objects.select_for_update().select_related("post").get(pk=send.pk)
    if send.status == NewsletterSend.Status.FINISHED:
        raise NewsletterError(_("This send is finished; there is nothing to resume."))
    if send.started_at is None:
        if not send.post.is_published():
            raise NewsletterError(_("Publish the post first, then resume the send."))
        return start_send(send=send)
    send.status = NewsletterSend.Status.SENDING
    send.retry_at = None
    send.transport_failures = 0
    send.heartbeat_at = timezone.now()
    send.save(update_fields=["status", "retry_at", "transport_failures", "heartbeat_at"])
    # Rows a worker still holds stay its own until their lease ends: it may be sending them
    # right now (a paused send finishes the batches in progress).
    _start_batches(send)
    _start_watchdog(send, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"))
    return send


@transaction.atomic
def retry_failed(*, send: NewsletterSend) -> int:
    """Put failed deliveries (not bounced ones) back in the queue; return how many."""
    send = NewsletterSend.objects.select_for_update().get(pk=send.pk)
    if send.started_at is None:
        return 0
    count = (
        send.deliveries.filter(status=Delivery.Status.FAILED)
        .filter(user__subscription__status=Subscription.Status.ACTIVE)
        .update(status=Delivery.Status.PENDING, attempts=0, available_at=timezone.now())
    )
    if count:
        send.status = NewsletterSend.Status.SENDING
        send.finished_at = None
        send.save(update_fields=["status", "finished_at"])
        _start_batches(send, pending=count)
        _start_watchdog(send, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"))
    return count


@transaction.atomic
def finish_if_done(*, send_id: int) -> bool:
    """Mark the send finished, with its final counts, once no delivery is pending."""
    send = NewsletterSend.objects.select_for_update().filter(pk=send_id).first()
    if send is None or send.status == NewsletterSend.Status.FINISHED:
        return True
    if send.deliveries.pending().exists():
        return False
    counts = send.progress()
    send.status = NewsletterSend.Status.FINISHED
    send.finished_at = timezone.now()
    send.sent_count = counts[Delivery.Status.SENT]
    send.failed_count = counts[Delivery.Status.FAILED]
    send.bounced_count = counts[Delivery.Status.BOUNCED]
    send.skipped_count = counts[Delivery.Status.SKIPPED]
    send.retry_at = None
    send.watchdog_token = ""
    send.save()
    return True


# --- The worker's side --------------------------------------------------------------------------


def backoff(attempt: int) -> float:
    """Return the delay before retry number `attempt` (1, 2, ...): doubling, capped."""
    base = conf("NEWSLETTER_RETRY_SECONDS")
    return min(conf("NEWSLETTER_RETRY_MAX_SECONDS"), base * 2 ** max(0, attempt - 1))


BOUNCE, FAIL, RETRY, TRANSPORT = "bounce", "fail", "retry", "transport"


def _reply_text(code, message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


def classify(exc: BaseException) -> tuple[str, str]:
    """Return (what to do, a readable reason) for an error raised while sending one message.

    BOUNCE: the server refused the recipient for good (5xx), so the address is dead.
    FAIL: this message was refused for good for another reason; do not retry it.
    RETRY: a temporary refusal of this message (4xx); try it again later.
    TRANSPORT: the server is unreachable, or went away; pause the whole send and retry.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (0, b""))
        reason = _reply_text(code, message)
        if code == 421:
            return TRANSPORT, reason
        return (BOUNCE if 500 <= code < 600 else RETRY), reason
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = _reply_text(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code == 421 or isinstance(exc, smtplib.SMTPSenderRefused):
            # Closing down, or our own sender refused: every next message would fail too.
            return TRANSPORT, reason
        return (FAIL if exc.smtp_code >= 500 else RETRY), reason
    if isinstance(exc, OSError):  # also smtplib's disconnects, refused connections, timeouts
        return TRANSPORT, f"{type(exc).__name__}: {exc}".strip(": ")
    try:
        from anymail.exceptions import AnymailError, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is a dependency, but optional in spirit
        pass
    else:
        if isinstance(exc, AnymailRecipientsRefused):
            return BOUNCE, str(exc)[:300]
        if isinstance(exc, AnymailError):
            return TRANSPORT, str(exc)[:300]
    return FAIL, f"{type(exc).__name__}: {exc}"[:500]


def _lease_end():
    # Database time, so workers on machines with different clocks agree on when a lease ends.
    return Now() + timedelta(seconds=conf("NEWSLETTER_LEASE_SECONDS"))


def _claim(send: NewsletterSend, worker_id: str) -> list[Delivery]:
    """Take up to a batch of free pending rows for this worker; skip readers who left."""
    with transaction.atomic():
        ids = list(
            send.deliveries.claimable()
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[: conf("NEWSLETTER_BATCH_SIZE")]
        )
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids).update(claimed_by=worker_id, available_at=_lease_end())
        NewsletterSend.objects.filter(pk=send.pk).update(heartbeat_at=timezone.now())
        rows = list(
            Delivery.objects.filter(pk__in=ids).select_related("user__subscription").order_by("pk")
        )
        keep, gone = [], []
        for row in rows:
            subscription = getattr(row.user, "subscription", None)
            active = row.user.is_active and subscription is not None and subscription.is_active
            (keep if active else gone).append(row.pk)
        if gone:
            # They unsubscribed, bounced or complained after the send started: never mail them.
            Delivery.objects.filter(pk__in=gone).update(
                status=Delivery.Status.SKIPPED, last_error="No longer subscribed."
            )
    return [row for row in rows if row.pk in set(keep)]


def _renew(ids: list[int], worker_id: str) -> set[int]:
    """Extend the lease on rows this worker still owns; return their ids."""
    with transaction.atomic():
        owned = set(
            Delivery.objects.filter(
                pk__in=ids, status=Delivery.Status.PENDING, claimed_by=worker_id
            )
            .select_for_update()
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=owned).update(available_at=_lease_end())
    return owned


def _mark(delivery: Delivery, **fields) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def _retry_later(delivery: Delivery, reason: str, *, delay: float | None = None) -> None:
    attempts = delivery.attempts + 1
    if attempts >= conf("NEWSLETTER_MAX_ATTEMPTS"):
        _mark(delivery, status=Delivery.Status.FAILED, attempts=attempts, last_error=reason[:500])
        return
    wait = backoff(attempts) if delay is None else delay
    _mark(
        delivery,
        attempts=attempts,
        last_error=reason[:500],
        claimed_by="",
        available_at=timezone.now() + timedelta(seconds=wait),
    )


@transaction.atomic
def _pause_for_transport(send: NewsletterSend, reason: str) -> float:
    """Record that the mail server failed; return seconds until the send tries again."""
    send = NewsletterSend.objects.select_for_update().get(pk=send.pk)
    now = timezone.now()
    if send.retry_at and send.retry_at > now:
        # Another batch met the same failure a moment ago and already set the pause.
        return (send.retry_at - now).total_seconds()
    send.transport_failures += 1
    delay = backoff(send.transport_failures)
    send.retry_at = now + timedelta(seconds=delay)
    send.last_error = reason[:500]
    send.save(update_fields=["transport_failures", "retry_at", "last_error"])
    logger.warning(
        "Newsletter send %s: mail server failed (%s); retry in %ss", send.pk, reason, delay
    )
    return delay


def _deliver(send: NewsletterSend, rows: list[Delivery], worker_id: str) -> float:
    """Send claimed rows over one connection; return the delay before the next batch."""
    mail = get_connection(fail_silently=False)
    if not conf("NEWSLETTER_DURABLE_MARKS"):
        # Each "sent" mark commits on its own; waiting for its WAL flush would cost several
        # milliseconds per message. See the module notes for what this trades.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
    try:
        return _deliver_over(mail, send, rows, worker_id)
    finally:
        if not conf("NEWSLETTER_DURABLE_MARKS"):
            # A broken connection is replaced by a fresh session anyway.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _deliver_over(mail, send: NewsletterSend, rows: list[Delivery], worker_id: str) -> float:
    rendered = Rendered(subject=send.subject, html=send.html_body, text=send.text_body)
    remaining = [row.pk for row in rows]
    lease = conf("NEWSLETTER_LEASE_SECONDS")
    # Renew at half the lease: a single message takes far less than that, so this worker never
    # sends a row whose lease another worker could already consider expired.
    renew_at = time.monotonic() + lease / 2
    try:
        mail.open()
    except Exception as exc:
        _, reason = classify(exc)
        Delivery.objects.filter(pk__in=remaining, claimed_by=worker_id).update(
            claimed_by="", available_at=timezone.now()
        )
        return _pause_for_transport(send, reason)
    sent_any = False
    try:
        for index, row in enumerate(rows):
            if time.monotonic() >= renew_at:
                owned = _renew(remaining[index:], worker_id)
                renew_at = time.monotonic() + lease / 2
                if row.pk not in owned:
                    continue
            try:
                message = personalise(rendered, user=row.user, connection=mail)
            except Exception as exc:
                logger.exception("Newsletter send %s: cannot build message %s", send.pk, row.pk)
                _mark(row, status=Delivery.Status.FAILED, attempts=row.attempts + 1,
                      last_error=f"Could not build the message: {exc!r}"[:500])  # fmt: skip
                continue
            try:
                if not mail.send_messages([message]):
                    # A backend that reports nothing sent without raising (fail_silently).
                    raise OSError("The mail backend did not accept the message.")
            except Exception as exc:
                action, reason = classify(exc)
                if action == BOUNCE:
                    _mark(row, status=Delivery.Status.BOUNCED, attempts=row.attempts + 1,
                          last_error=reason[:500])  # fmt: skip
                    mark_bounced(user_id=row.user_id, reason=reason)
                elif action == FAIL:
                    _mark(row, status=Delivery.Status.FAILED, attempts=row.attempts + 1,
                          last_error=reason[:500])  # fmt: skip
                elif action == RETRY:
                    _retry_later(row, reason)
                else:
                    # The server went away mid-batch. This row may or may not have arrived; the
                    # server did not confirm it, so it is tried again. The rest go back to the pool.
                    _retry_later(row, reason, delay=0)
                    Delivery.objects.filter(
                        pk__in=remaining[index + 1 :], claimed_by=worker_id, status="pending"
                    ).update(claimed_by="", available_at=timezone.now())
                    return _pause_for_transport(send, reason)
            else:
                # Its own small transaction, right after the server's 250: see the module notes.
                _mark(row, status=Delivery.Status.SENT, sent_at=timezone.now(),
                      attempts=row.attempts + 1, last_error="")  # fmt: skip
                sent_any = True
    finally:
        # The connection may already be dead; there is nothing left to keep from it.
        with contextlib.suppress(Exception):
            mail.close()
    if sent_any and (send.transport_failures or send.retry_at):
        NewsletterSend.objects.filter(pk=send.pk).update(
            transport_failures=0, retry_at=None, last_error=""
        )
    return 0


def run_batch(*, send_id: int, worker_id: str) -> str:
    """One step of a send: claim a batch, send it, enqueue the next step. Return what it did."""
    from accounts.tasks import send_batch as send_batch_task

    send = NewsletterSend.objects.filter(pk=send_id).first()
    if send is None or send.status != NewsletterSend.Status.SENDING:
        return "stopped"
    now = timezone.now()
    if send.retry_at and send.retry_at > now:
        enqueue_later(send_batch_task, delay=(send.retry_at - now).total_seconds(), send_id=send_id)
        return "waiting for the mail server"
    rows = _claim(send, worker_id)
    if not rows:
        next_free = send.deliveries.pending().aggregate(at=Min("available_at"))["at"]
        if next_free is None:
            finish_if_done(send_id=send_id)
            return "finished"
        if next_free <= now:
            # Rows were claimed as skipped, or another worker just took the rest: look again.
            enqueue_later(send_batch_task, send_id=send_id)
            return "skipped"
        # Rows held by another worker's lease or waiting for a retry: come back when free.
        enqueue_later(
            send_batch_task, delay=(next_free - now).total_seconds() + 0.05, send_id=send_id
        )
        return "waiting"
    delay = 0.0
    try:
        delay = _deliver(send, rows, worker_id)
    finally:
        enqueue_later(send_batch_task, delay=delay, send_id=send_id)
    return f"sent a batch of {len(rows)}"


def watch(*, send_id: int, token: str) -> str:
    """Start a scheduled send when due; restart the batches of a send every worker abandoned;
    finish a send with nothing left. Re-enqueues itself while the send runs."""
    from accounts.tasks import watch_send as watch_send_task

    send = NewsletterSend.objects.select_related("post").filter(pk=send_id).first()
    if send is None or send.status in {
        NewsletterSend.Status.FINISHED,
        NewsletterSend.Status.PAUSED,
    }:
        return "stopped"
    if not token or send.watchdog_token != token:
        return "replaced"
    now = timezone.now()
    if send.status == NewsletterSend.Status.SCHEDULED:
        return _start_scheduled(send, now)
    # Schedule the next round first, so a crash during this one cannot end the chain.
    enqueue_later(
        watch_send_task, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"), send_id=send_id, token=token
    )
    if finish_if_done(send_id=send_id):
        return "finished"
    stalled_since = now - timedelta(seconds=conf("NEWSLETTER_STALL_SECONDS"))
    waiting = send.retry_at and send.retry_at > now
    if (
        not waiting
        and (send.heartbeat_at is None or send.heartbeat_at < stalled_since)
        and send.deliveries.claimable().exists()
    ):
        logger.warning("Newsletter send %s stalled; restarting its batches", send_id)
        with transaction.atomic():
            NewsletterSend.objects.filter(pk=send_id).update(heartbeat_at=now)
            _start_batches(send)
        return "restarted"
    return "running"


def _start_scheduled(send: NewsletterSend, now) -> str:
    post = send.post
    if post.is_published():
        start_send(send=send)
        return "started"
    if post.published_at and post.published_at > now and post.status != post.Status.DRAFT:
        # The editor moved the publish time: follow it.
        with transaction.atomic():
            NewsletterSend.objects.filter(pk=send.pk).update(scheduled_for=post.published_at)
            send.scheduled_for = post.published_at
            _start_watchdog(send, at=post.published_at)
        return "rescheduled"
    NewsletterSend.objects.filter(pk=send.pk).update(
        status=NewsletterSend.Status.PAUSED,
        watchdog_token="",
        last_error=_("The post was not published at its send time. Publish it, then resume."),
    )
    return "paused"
