import json
from urllib.parse import quote, urlencode

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from posts.richtext import HIGHLIGHT_START, HIGHLIGHT_STOP, split_at_poll_slot, without_more
from publication.models import Publication

register = template.Library()

# Characters that could end a <script> data block or open a comment inside it.
_JSON_IN_HTML = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@register.filter
def absolute(path: str) -> str:
    """Return path as an absolute URL on the site's canonical address."""
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}{path}"


def publisher() -> dict:
    """The publication as schema.org's Organization (with its logo, when it has one)."""
    publication = Publication.objects.current()
    data = {"@type": "Organization", "name": publication.name, "url": absolute("/")}
    if publication.logo:
        data["logo"] = {
            "@type": "ImageObject",
            "url": absolute(publication.logo.url),
            "width": publication.logo_width,
            "height": publication.logo_height,
        }
    return data


@register.filter(is_safe=True)
def whole_body(html: str) -> str:
    """Return a sanitised body for where it shows whole: without its "continue reading"
    divider, which marks a place and is no break for the reader."""
    return without_more(html)


@register.simple_tag
def body_around_poll(html: str) -> tuple[str, str] | None:
    """Return the sanitised body html shown on the page cut at its poll block, or None when it
    has none: the page puts the post's polls there (the polls app fills the place) instead of
    at their fixed places."""
    return split_at_poll_slot(html)


@register.filter
def highlight(text: str) -> str:
    """Escape text and turn PostgreSQL's highlight markers into <mark> elements.

    Only balanced markers become tags; everything else, markup in the text included, is
    escaped, so a search result can never inject HTML.
    """
    out: list[str] = []
    open_mark = False
    buffer: list[str] = []
    for char in text or "":
        if char == HIGHLIGHT_START and not open_mark:
            out.append(escape("".join(buffer)))
            buffer, open_mark = [], True
        elif char == HIGHLIGHT_STOP and open_mark:
            out.append(f"<mark>{escape(''.join(buffer))}</mark>")
            buffer, open_mark = [], False
        elif char not in {HIGHLIGHT_START, HIGHLIGHT_STOP}:
            buffer.append(char)
    out.append(escape("".join(buffer)))
    return mark_safe("".join(out))  # noqa: S308 (every piece above is escaped)  # nosec


@register.simple_tag
def login_url(next_url: str) -> str:
    """The login-by-code page, coming back to next_url afterwards."""
    return f"{reverse('account_request_login_code')}?{urlencode({'next': next_url})}"


@register.simple_tag
def subscribe_url(next_url: str) -> str:
    """The subscribe page, coming back to next_url afterwards."""
    return f"{reverse('accounts:subscribe')}?{urlencode({'next': next_url})}"


@register.inclusion_tag("posts/partials/_cover.html")
def cover_picture(post, sizes="100vw", loading="lazy", decorative=False):
    """The post's cover as a <picture>: WebP renditions in srcset, the stored original after."""
    return {
        "post": post,
        "sizes": sizes,
        "loading": loading,
        "alt": "" if decorative else post.cover_alt,
    }


@register.simple_tag
def share_links(post) -> list[dict]:
    """Plain links that share post on X, LinkedIn, Facebook and by email (no scripts)."""
    url = absolute(post.get_absolute_url())
    title = post.title
    mail_body = f"{title}\n\n{url}"
    return [
        {
            "name": "X",
            "label": "Share on X",
            "href": "https://x.com/intent/post?" + urlencode({"url": url, "text": title}),
        },
        {
            "name": "LinkedIn",
            "label": "Share on LinkedIn",
            "href": "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        },
        {
            "name": "Facebook",
            "label": "Share on Facebook",
            "href": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
        },
        {
            "name": "Email",
            "label": "Share by email",
            "href": f"mailto:?subject={quote(title)}&body={quote(mail_body)}",
        },
    ]


@register.simple_tag(takes_context=True)
def post_json_ld(context, post):
    """schema.org Article data for search engines, as a JSON data block (not a script).

    Browsers never run a data block, so CSP does not govern it and it carries no nonce; that
    also keeps the page free of per-response values, so the page cache can share it."""
    url = absolute(post.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "headline": post.title,
        "description": post.description,
        "datePublished": post.published_at,
        "dateModified": post.updated_at,
        "author": [
            {
                "@type": "Person",
                "name": author.public_name,
                "url": absolute(reverse("posts:author", kwargs={"pk": author.pk})),
            }
            for author in post.author_list
        ],
        "publisher": publisher(),
        "keywords": [tag.name for tag in post.tags.all()],
        "wordCount": len(post.body_text.split()),
        "isAccessibleForFree": not post.is_for_subscribers,
    }
    if post.cover:
        data["image"] = [absolute(post.cover.url)]
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_IN_HTML)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(payload),  # noqa: S308 (JSON with <, > and & escaped above)  # nosec
    )
