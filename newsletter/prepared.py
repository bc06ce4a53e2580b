"""A send's email as finished bytes, built once per batch, with each reader's own values put in
per message: the fast way the workers send over SMTP (newsletter/delivery.py).

Building a message through Python's email package (headers, MIME parts, boundaries, the
generator) costs a few milliseconds of CPU, the same work for every reader but for a handful
of values. So `prepare()` builds the send's message once, exactly as `personalise()` would for
a reader, but with a slot (a unique, plain alphanumeric word) where each personal value goes:
the To header, Message-ID, Date, the one-click unsubscribe link in `List-Unsubscribe` and in
both parts, the preference link, the referral link and one vote link per poll choice. The
bytes are cut at the slots; `PreparedMessage.render()` joins the pieces with one reader's
values, in microseconds.

What keeps the bytes valid:
- Both parts must come out of the email package as 7bit or 8bit (Django picks quoted-printable
  only for lines longer than SMTP's 998 bytes, which `fold_html` prevents): a slot in
  quoted-printable or base64 could be cut by a soft line break, and its value would need
  encoding. A build that comes out any other way is refused (None), and the caller builds
  each message the slow way.
- Every value is ASCII without line breaks and at most MAX_VALUE_BYTES long, and every line
  holding slots has room for that many bytes per slot under 998; in the HTML each link with a
  slot sits on a line of its own (a line break between a tag's attributes changes nothing).
  A reader whose values do not fit (a very long or non-ASCII address) gets the slow way.
- Values go in escaped for where they stand: HTML-escaped in the HTML part, as they are in the
  plain-text part and the headers.
- The bytes are kept as they go over SMTP after DATA: every line that starts with a dot gets a
  second one (RFC 5321's dot-stuffing) once per batch, instead of smtplib searching each
  message's 12 KB for them (a third of the worker's CPU per message). Slots are letters and
  digits, and a value that starts with a dot is refused (the slow way), so no value can start
  a line that needed one.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate, make_msgid
from html import escape

from django.conf import settings
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.urls import reverse

from accounts.referrals import code_for
from accounts.services import unsubscribe_token
from newsletter.links import leave_token, manage_token
from newsletter.rendering import PLACEHOLDER_RE, Rendered, list_headers, personalise
from polls import services as polls_services

# SMTP's line limit (RFC 5321/5322), without the CRLF.
MAX_LINE_BYTES = 998
# The longest value a slot takes: an address may have 254 characters, links are far shorter.
MAX_VALUE_BYTES = 300
SLOT_DOMAIN = "slot.invalid"
# Addresses sent as they are in the envelope and the To header; anything else (non-ASCII,
# quoted local parts) is built the slow way, where Django encodes it.
_PLAIN_ADDRESS_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_HREF_SLOT_RE = re.compile(r'\s*(href="%%FF:[^"%]+%%")\s*')


@dataclass(frozen=True)
class PreparedMessage:
    """A send's message cut at its slots: bytes, and (key, where) pairs between them."""

    pieces: tuple[bytes | tuple[str, str], ...]
    envelope_from: str
    newsletter_id: int | None
    keys: frozenset[str]
    # Each personal link's address around its token, reversed once per batch, not per reader.
    around: dict[str, tuple[str, str]]

    def link(self, key: str, token: str) -> str:
        before, after = self.around[key]
        return f"{before}{token}{after}"

    def values(self, user) -> dict[str, str]:
        """Return the reader's own value for every key the message has a slot for."""
        found: dict[str, str] = {}
        for key in self.keys:
            if key == "to":
                found[key] = user.email
            elif key == "message-id":
                found[key] = make_msgid(domain=DNS_NAME)
            elif key == "date":
                found[key] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
            elif key == "unsubscribe":
                found[key] = self.link(
                    key,
                    leave_token(user.pk, self.newsletter_id)
                    if self.newsletter_id is not None
                    else unsubscribe_token(user.pk),
                )
            elif key == "manage":
                found[key] = self.link(key, manage_token(user.pk))
            elif key == "referral":
                found[key] = self.link(key, code_for(user))
            else:
                _vote, poll_id, choice_id = key.split(":")
                found[key] = polls_services.vote_url(
                    poll_id=int(poll_id), choice_id=int(choice_id), user_id=user.pk
                )
        return found

    def render(self, user) -> tuple[str, bytes] | None:
        """Return (envelope recipient, the message's bytes, dot-stuffed and ending with CRLF,
        as they go after SMTP's DATA) for user, or None when a value cannot go in as it is
        (the caller builds that reader's message the slow way)."""
        if not _PLAIN_ADDRESS_RE.fullmatch(user.email):
            return None
        values = self.values(user)
        for value in values.values():
            if len(value) > MAX_VALUE_BYTES or not (value.isascii() and value.isprintable()):
                return None
            if value.startswith("."):
                return None
        encoded: dict[tuple[str, str], bytes] = {}
        for key, value in values.items():
            encoded["plain", key] = value.encode("ascii")
            encoded["html", key] = escape(value).encode("ascii")
        data = b"".join(
            piece if isinstance(piece, bytes) else encoded[piece[1], piece[0]]
            for piece in self.pieces
        )
        return user.email, data


def _around(viewname: str, kwarg: str) -> tuple[str, str]:
    """Return the absolute address of viewname split where its token goes."""
    before, _, after = reverse(viewname, kwargs={kwarg: "TOKEN"}).partition("TOKEN")
    return f"{settings.SITE_URL}{before}", after


def _links_on_lines_of_their_own(html: str) -> str:
    return _HREF_SLOT_RE.sub(lambda match: f"\n{match.group(1)}\n", html)


def prepare(rendered: Rendered, *, newsletter=None) -> PreparedMessage | None:
    """Return the message of a send with slots for each reader's values, or None when its
    bytes cannot safely take them (see the module notes): then build each message the slow
    way."""
    nonce = secrets.token_hex(6)
    slots: dict[str, tuple[str, str]] = {}

    def slot(key: str, where: str) -> str:
        for word, known in slots.items():
            if known == (key, where):
                return word
        word = f"ffslot{nonce}x{len(slots)}"
        slots[word] = (key, where)
        return word

    text = PLACEHOLDER_RE.sub(lambda match: slot(match.group(1), "plain"), rendered.text)
    html = PLACEHOLDER_RE.sub(
        lambda match: slot(match.group(1), "html"), _links_on_lines_of_their_own(rendered.html)
    )
    to = f"{slot('to', 'plain')}@{SLOT_DOMAIN}"
    headers = list_headers(slot("unsubscribe", "plain"))
    headers["Message-ID"] = slot("message-id", "plain")
    headers["Date"] = slot("date", "plain")

    class Reader:  # personalise() asks only for these of its reader
        pk = 0
        email = to

    message = personalise(
        Rendered(subject=rendered.subject, html=html, text=text),
        user=Reader,
        newsletter=newsletter,
    )
    message.extra_headers = {**message.extra_headers, **headers}
    data = message.message().as_bytes(linesep="\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    data = data.replace(b"\r\n.", b"\r\n..")  # dot-stuffing, once: see the module notes
    if data.startswith(b"."):
        data = b"." + data
    lowered = data.lower()
    if b"quoted-printable" in lowered or b"content-transfer-encoding: base64" in lowered:
        return None
    word_re = re.compile(rf"ffslot{nonce}x\d+(?:@{re.escape(SLOT_DOMAIN)})?".encode())
    for line in data.split(b"\r\n"):
        found = word_re.findall(line)
        if found and len(line) + len(found) * MAX_VALUE_BYTES > MAX_LINE_BYTES:
            return None
    pieces: list[bytes | tuple[str, str]] = []
    seen: set[str] = set()
    last = 0
    for match in word_re.finditer(data):
        pieces.append(data[last : match.start()])
        word = match.group(0).decode().removesuffix(f"@{SLOT_DOMAIN}")
        pieces.append(slots[word])
        seen.add(word)
        last = match.end()
    pieces.append(data[last:])
    if seen != set(slots):
        # A slot the email package encoded or folded out of sight: its value would be lost.
        return None
    newsletter_id = getattr(newsletter, "pk", None)
    return PreparedMessage(
        pieces=tuple(piece for piece in pieces if piece != b""),
        envelope_from=sanitize_address(message.from_email, message.encoding or "utf-8"),
        newsletter_id=newsletter_id,
        keys=frozenset(key for key, _where in slots.values()),
        around={
            "unsubscribe": (
                _around("newsletter:leave", "token")
                if newsletter_id is not None
                else _around("accounts:unsubscribe", "token")
            ),
            "manage": _around("newsletter:manage", "token"),
            "referral": _around("accounts:referral", "code"),
        },
    )
