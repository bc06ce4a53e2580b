"""How a newsletter email looks: the site's palette, the post body made fit for mail clients,
the shared render of a post's email, and each reader's copy of it (personalise, list headers).

Everything here is a pure function of the post and the reader: nothing is sent or stored.
"""

from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import nh3
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.html import strip_tags
from django.utils.text import Truncator

from accounts.models import User
from accounts.referrals import referral_url
from accounts.services import unsubscribe_url
from newsletter.links import leave_url, manage_url
from newsletter.models import NewsletterSend
from polls import services as polls_services
from posts.models import Post
from posts.richtext import html_to_text, split_at_more, split_at_poll_slot, without_more
from publication.colors import accent_inks
from publication.models import Publication

# Personal links are left as placeholders in the shared render and filled in per subscriber.
PLACEHOLDER_RE = re.compile(r"%%FF:(unsubscribe|manage|referral|vote:(\d+):(\d+))%%")
UNSUBSCRIBE_PLACEHOLDER = "%%FF:unsubscribe%%"
MANAGE_PLACEHOLDER = "%%FF:manage%%"
REFERRAL_PLACEHOLDER = "%%FF:referral%%"


# --- The palette: the site's own colours, read from its stylesheet -----------------------------

# The one place the colours are written is the :root block of the site's stylesheet (and its
# dark-mode twin). Emails cannot load that stylesheet, so the renderer reads the custom
# properties and the templates write them inline.
SITE_CSS = "css/site.css"
_ROOT_RE = re.compile(
    r"(?P<dark>@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{\s*)?:root\s*\{(?P<body>[^}]*)\}"
)
_PROPERTY_RE = re.compile(r"--(?P<name>[a-z0-9-]+)\s*:\s*(?P<value>[^;]+);")


@dataclass(frozen=True)
class Palette:
    """The site's custom properties by name (``--ink-soft`` is ``ink_soft``), light and dark."""

    light: dict[str, str]
    dark: dict[str, str]


def parse_palette(css: str) -> Palette:
    """Return the custom properties of css's ``:root`` and dark-mode ``:root`` blocks."""
    found: dict[str, dict[str, str]] = {"light": {}, "dark": {}}
    for block in _ROOT_RE.finditer(css):
        scheme = found["dark" if block.group("dark") else "light"]
        for prop in _PROPERTY_RE.finditer(block.group("body")):
            scheme[prop.group("name").replace("-", "_")] = prop.group("value").strip()
    return Palette(light=found["light"], dark={**found["light"], **found["dark"]})


@functools.cache
def palette() -> Palette:
    """Return the site's palette, read from its stylesheet once per process."""
    path = finders.find(SITE_CSS)
    if not path:
        raise ImproperlyConfigured(f"The emails take their colours from {SITE_CSS}; not found.")
    found = parse_palette(Path(path).read_text(encoding="utf-8"))
    needed = {"ink", "ink_soft", "paper", "paper_soft", "line", "accent", "accent_ink"}
    if missing := needed - found.light.keys():
        raise ImproperlyConfigured(f"{SITE_CSS} defines no {', '.join(sorted(missing))}.")
    return found


def email_palette() -> Palette:
    """Return the site's palette with the publication's accent colours (set in the admin)."""
    site, publication = palette(), Publication.objects.current()
    light, dark = publication.accent_color, publication.accent_color_dark
    return Palette(
        light={**site.light, "accent": light, "accent_ink": accent_inks(light, dark=False)},
        dark={**site.dark, "accent": dark, "accent_ink": accent_inks(dark, dark=True)},
    )


# --- The post body, made fit for email ---------------------------------------------------------

SERIF = "Georgia,'Times New Roman',serif"


@functools.cache
def body_styles(accent: str) -> dict[str, str]:
    """Return the inline style of each element of a post body in email, links in accent.

    Mail clients drop <link> and most <style>, so each element gets its style inline. The
    dark-mode overrides in the layout's <style> block use !important over these.
    """
    c = palette().light
    ink, soft, line = c["ink"], c["ink_soft"], c["line"]
    return {
        "p": f"margin:0 0 18px;font-size:17px;line-height:1.65;color:{ink}",
        "h1": f"margin:30px 0 12px;font-family:{SERIF};font-size:28px;line-height:1.25;color:{ink}",
        "h2": f"margin:30px 0 12px;font-family:{SERIF};font-size:24px;line-height:1.3;color:{ink}",
        "h3": f"margin:26px 0 10px;font-family:{SERIF};font-size:20px;line-height:1.3;color:{ink}",
        "h4": f"margin:22px 0 8px;font-size:17px;line-height:1.3;color:{ink}",
        "a": f"color:{accent};text-decoration:underline",
        "blockquote": (
            f"margin:22px 0;padding:2px 0 2px 16px;border-left:4px solid {line};color:{soft}"
        ),
        "ul": "margin:0 0 18px;padding-left:24px",
        "ol": "margin:0 0 18px;padding-left:24px",
        "li": f"margin:0 0 8px;font-size:17px;line-height:1.6;color:{ink}",
        "img": "display:block;max-width:100%;height:auto;border:0;margin:0 auto",
        "figure": "margin:22px 0",
        "figcaption": f"margin-top:6px;font-size:14px;line-height:1.4;color:{soft}",
        "pre": (
            f"margin:0 0 18px;padding:12px;background:{c['paper_soft']};border-radius:6px;"
            "white-space:pre-wrap;font-size:14px;line-height:1.5"
        ),
        "code": "font-family:Menlo,Consolas,monospace;font-size:15px",
        "hr": f"border:0;border-top:1px solid {line};margin:28px 0",
        "table": "border-collapse:collapse;margin:0 0 18px;width:100%",
        "td": f"border:1px solid {line};padding:6px 8px;font-size:15px",
        "th": f"border:1px solid {line};padding:6px 8px;font-size:15px;text-align:left",
    }


@functools.cache
def block_styles(accent: str, accent_ink: str) -> dict[str, str]:
    """Return the inline style of the editor's blocks (by class) in email: the button, the
    callout and the paragraph holding a button, in the publication's accent."""
    c = {**palette().light, "accent": accent, "accent_ink": accent_ink}
    return {
        "cta": "margin:26px 0",
        "button": (
            f"display:inline-block;padding:12px 22px;border:2px solid {c['accent']};"
            f"border-radius:8px;background:{c['accent']};color:{c['accent_ink']};"
            "font-size:17px;font-weight:bold;line-height:1.3;text-decoration:none"
        ),
        "callout": (
            f"margin:22px 0;padding:16px 20px 1px;background:{c['paper_soft']};"
            f"border:1px solid {c['accent']};border-radius:8px"
        ),
    }


# The layout's dark-mode rules know the button and the box by these classes.
_BLOCK_CLASSES = {"button": "ff-button", "callout": "ff-box", "cta": ""}
_BLOCK_RE = re.compile(r'<(p|a|div)\b([^>]*?) class="(cta|button|callout)"([^>]*)>')
_STYLE_ATTR_RE = re.compile(r' style="[^"]*"')
EMAIL_TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area", "details", "summary", "nav"}
# The email's column is 524px wide; its images are the rendition at twice that, or the widest.
EMAIL_IMAGE_WIDTH = 524
_IMG_RE = re.compile(r"<img\b[^>]*>")
_ATTR_RE = re.compile(r'([a-zA-Z][\w-]*)="([^"]*)"')


def _email_image(match: re.Match) -> str:
    """Return a body image with one fixed-width rendition (mail clients ignore srcset)."""
    attrs = dict(_ATTR_RE.findall(match.group(0)))
    candidates = []
    for item in attrs.get("srcset", "").split(","):
        parts = item.split()
        if len(parts) == 2 and parts[1].endswith("w") and parts[1][:-1].isdigit():
            candidates.append((int(parts[1][:-1]), parts[0]))
    src = attrs.get("src", "")
    if candidates:
        sharp = [c for c in sorted(candidates) if c[0] >= 2 * EMAIL_IMAGE_WIDTH]
        src = (sharp[0] if sharp else max(candidates))[1]
    try:
        width, height = int(attrs["width"]), int(attrs["height"])
    except (KeyError, ValueError):
        return f'<img src="{src}" alt="{attrs.get("alt", "")}">'
    shown = min(width, EMAIL_IMAGE_WIDTH)
    return (
        f'<img src="{src}" alt="{attrs.get("alt", "")}" width="{shown}" '
        f'height="{max(1, round(height * shown / width))}">'
    )


def absolute_url(url: str) -> str:
    """Return url made absolute against SITE_URL (links in email must not be relative)."""
    return urljoin(f"{settings.SITE_URL}/", url)


def email_body_html(html: str) -> str:
    """Return post HTML fit for email: allow-listed tags, inline styles, absolute URLs, one
    fixed-width rendition per image, the editor's blocks styled by hand."""
    light = email_palette().light
    cleaned = nh3.clean(
        _IMG_RE.sub(_email_image, html),
        tags=EMAIL_TAGS,
        allowed_classes={"p": {"cta"}, "a": {"button"}, "div": {"callout"}},
        set_tag_attribute_values={
            tag: {"style": style} for tag, style in body_styles(light["accent"]).items()
        },
        url_relative=absolute_url,
    )

    styles = block_styles(light["accent"], light["accent_ink"])

    def block(match: re.Match) -> str:
        tag, before, name, after = match.groups()
        rest = _STYLE_ATTR_RE.sub("", before + after)
        css_class = f' class="{_BLOCK_CLASSES[name]}"' if _BLOCK_CLASSES[name] else ""
        return f'<{tag}{css_class} style="{styles[name]}"{rest}>'

    return _BLOCK_RE.sub(block, cleaned)


def teaser_html(html: str, words: int) -> tuple[str, bool]:
    """Return the opening of a post (up to its "continue reading" divider, else `words` words)
    and whether anything was cut."""
    if (parts := split_at_more(html)) is not None:
        opening, rest = parts
        return opening, bool(rest.strip())
    if len(strip_tags(html).split()) <= words:
        return html, False
    return Truncator(html).words(words, html=True, truncate="…"), True


def share_links(*, title: str, url: str) -> list[dict[str, str]]:
    """Return plain share links (no scripts, no trackers) for a post."""
    title_q, url_q = quote(title), quote(url, safe="")
    return [
        {"name": "X", "url": f"https://x.com/intent/tweet?text={title_q}&url={url_q}"},
        {"name": "LinkedIn", "url": f"https://www.linkedin.com/sharing/share-offsite/?url={url_q}"},
        {"name": "Facebook", "url": f"https://www.facebook.com/sharer/sharer.php?u={url_q}"},
        {"name": "Email", "url": f"mailto:?subject={title_q}&body={url_q}"},
    ]


def newsletter_context(*, post, mode: str, teaser_words: int, newsletter=None) -> dict:
    """Return the template context of a post's email, with placeholders for personal links."""
    post_url = absolute_url(post.get_absolute_url())
    # Subscriber-only posts go out in full: the readers of this email are that audience.
    full = mode == NewsletterSend.Mode.FULL or post.audience == Post.Audience.SUBSCRIBERS
    body = post.body or ""
    is_teaser = False
    if full:
        # The divider marks a place, not a break readers should see.
        body = without_more(body)
    else:
        body, is_teaser = teaser_html(body, teaser_words)
    # A poll block in the body is where the poll goes; without one, its Placement decides.
    around_poll = split_at_poll_slot(body)
    body_after_html = ""
    if around_poll is not None:
        body, after = around_poll
        body_after_html = email_body_html(after)
    body_html = email_body_html(body)
    poll = polls_services.poll_for_email(post=post)
    poll_context = None
    if poll:
        poll_context = {
            "question": poll.question,
            # Where the post page shows it: at the body's poll block, after the article, or at
            # the very end.
            "placement": "in_body" if around_poll is not None else poll.placement,
            "url": f"{post_url}#poll-{poll.pk}",
            "choices": [
                {"text": choice.text, "url": f"%%FF:vote:{poll.pk}:{choice.pk}%%"}
                for choice in poll.choices.all()
            ],
        }
    return {
        "site_name": Publication.objects.current().name,
        "site_url": settings.SITE_URL,
        "newsletter_name": newsletter.name if newsletter else "",
        "post": post,
        "post_url": post_url,
        "authors": ", ".join(author.public_name for author in post.authors.all()),
        "cover_url": absolute_url(post.cover.url) if post.cover else "",
        "body_html": body_html,
        "body_text": html_to_text(body_html, marks=True),
        # The body after its poll block, when it has one (the poll goes in between).
        "body_after_html": body_after_html,
        "body_after_text": html_to_text(body_after_html, marks=True),
        "has_poll_block": around_poll is not None,
        "is_teaser": is_teaser,
        "takeaway": "" if is_teaser else post.daily_takeaway.strip(),
        "poll": poll_context,
        "share_links": share_links(title=post.title, url=post_url),
        "subscribe_url": absolute_url("/subscribe/"),
        "account_url": absolute_url("/account/"),
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "manage_url": MANAGE_PLACEHOLDER,
        "referral_url": REFERRAL_PLACEHOLDER,
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
    """Render templates/newsletter/email/<prefix>_subject.txt, _message.txt and _message.html,
    with the site's palette and the publication's name and logo in the context."""
    colors, publication = email_palette(), Publication.objects.current()
    logo = {}
    if publication.logo:
        # Mail clients show the logo at most 40 pixels high, as the site's header does.
        height = min(40, publication.logo_height or 40)
        width = round((publication.logo_width or height) * height / (publication.logo_height or 1))
        logo = {"url": absolute_url(publication.logo.url), "width": width, "height": height}
    context = {
        "colors": colors.light,
        "dark_colors": colors.dark,
        "site_name": publication.name,
        "logo": logo,
        **context,
    }
    subject = render_to_string(f"newsletter/email/{template_prefix}_subject.txt", context)
    text = render_to_string(f"newsletter/email/{template_prefix}_message.txt", context)
    return Rendered(
        subject=" ".join(subject.split()),
        html=fold_html(
            render_to_string(f"newsletter/email/{template_prefix}_message.html", context)
        ),
        text=wrap_text(text.strip()) + "\n",
    )


def render_newsletter(*, post, mode: str, teaser_words: int, newsletter=None) -> Rendered:
    """Render a post's email once; personalise() fills in each subscriber's links."""
    context = newsletter_context(
        post=post, mode=mode, teaser_words=teaser_words, newsletter=newsletter
    )
    return render_email("newsletter", context)


_DARK_QUERY_RE = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)")


def as_in_dark_mode(html: str) -> str:
    """Return an email's html with its dark-mode rules always on, as a mail client in dark mode
    applies them (for the admin's preview; the email itself keeps the media query)."""
    return _DARK_QUERY_RE.sub("@media all", html)


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
        "List-Id": f"{Publication.objects.current().name} <newsletter.{host}>",
    }


def personalise(
    rendered: Rendered,
    *,
    user: User,
    connection=None,
    subject_prefix: str = "",
    newsletter=None,
) -> EmailMultiAlternatives:
    """Return the message for one reader: the shared render with their own links filled in.

    With a newsletter, the unsubscribe link (and the one-click header) leaves that newsletter
    only; without one (the welcome email), it stops every newsletter. The newsletter's sender
    name, if it has one, goes in the From line.
    """
    links: dict[str, str] = {}

    def unsubscribe() -> str:
        if newsletter is not None:
            return leave_url(user.pk, newsletter.pk)
        return unsubscribe_url(user.pk)

    def link(match: re.Match) -> str:
        key = match.group(1)
        if key not in links:
            if key == "unsubscribe":
                links[key] = unsubscribe()
            elif key == "manage":
                links[key] = manage_url(user.pk)
            elif key == "referral":
                links[key] = referral_url(user)
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
        from_email=from_address(newsletter),
        to=[user.email],
        headers=list_headers(links.get("unsubscribe") or unsubscribe()),
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def from_address(newsletter=None) -> str:
    """Return the From line: DEFAULT_FROM_EMAIL's address, under the newsletter's sender name
    if set, else the publication's (Settings › Publication in the admin)."""
    from email.utils import formataddr, parseaddr

    name = getattr(newsletter, "sender_name", "")
    if not name:
        return Publication.objects.current().sender()
    default = settings.DEFAULT_FROM_EMAIL
    return formataddr((name, parseaddr(default)[1] or default))


# --- Counting arrivals from a send (the analytics app reads these marks) -----------------------

SEND_LINK_SALT = "newsletter.send-link"
_HREF_RE = re.compile(r'href="([^"]*)"')
_TEXT_URL_RE = re.compile(r"https?://[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]")


def mark_send_links(rendered: Rendered, *, send_id: int, open_pixel: bool = False) -> Rendered:
    """Return a send's shared render with every link to this site carrying ``ff``: the send's id
    and the link's number, signed together with the link's path (a mark moved to another page
    is forged). Every copy carries the same marks, so an arrival counts for the send and the
    link, never for a reader. With open_pixel, a 1x1 image counts opens."""
    site = f"{settings.SITE_URL}/"
    numbers: dict[str, int] = {}

    def mark(url: str) -> str:
        if not url.startswith(site):
            return url
        number = numbers.setdefault(url, len(numbers) + 1)
        base, hash_mark, fragment = url.partition("#")
        joiner = "&" if "?" in base else "?"
        value = send_mark(send_id, number, path=unquote(urlsplit(base).path))
        return f"{base}{joiner}ff={quote(value, safe='')}{hash_mark}{fragment}"

    html = _HREF_RE.sub(
        lambda match: f'href="{escape(mark(unescape(match.group(1))))}"', rendered.html
    )
    text = _TEXT_URL_RE.sub(lambda match: mark(match.group(0)), rendered.text)
    if open_pixel:
        # reverse() quotes what a path needs.
        pixel = absolute_url(reverse("analytics:open", kwargs={"mark": send_mark(send_id, 0)}))
        image = f'<img src="{escape(pixel)}" width="1" height="1" alt="" style="display:block">'
        html = html.replace("</body>", f"{image}</body>", 1)
    return Rendered(subject=rendered.subject, html=html, text=text)


def send_mark(send_id: int, number: int, *, path: str = "") -> str:
    """Return the mark of link `number` (0: the open pixel) of a send, for a link to path."""
    signature = signing.Signer(salt=SEND_LINK_SALT).signature(f"{send_id}.{number}|{path}")
    return f"{send_id}.{number}:{signature}"


def read_send_mark(value: str, *, path: str = "") -> tuple[int, int] | None:
    """Return (send id, link number) from an ``ff`` mark on a page at path, or None when it was
    not made here for that page (forged, altered, garbled or moved)."""
    head, _, signature = value.partition(":")
    send_id, _, number = head.partition(".")
    if not (send_id.isdigit() and number.isdigit()):
        return None
    expected = send_mark(int(send_id), int(number), path=path)
    return (int(send_id), int(number)) if constant_time_compare(value, expected) else None
