"""The post body as HTML: the allow-list it is cleaned with, and the text derived from it.

Every body passes through :func:`sanitize_body` when a post is saved, whatever wrote it (the
admin editor, its HTML source view, the shell or an import), so templates may print it as safe.
"""

import re
from html import escape, unescape
from html.parser import HTMLParser

import nh3
from django.core.files.storage import default_storage

from posts.images import BODY_IMAGE_DIR

# What the editor can produce, and nothing else. No iframes or styles, and only images our own
# pipeline made (see _images below): a body can't load anything from another host, and the
# site's stylesheet decides how it looks.
ALLOWED_TAGS = {
    "p",
    "br",
    "h2",
    "h3",
    "h4",
    "strong",
    "em",
    "s",
    "u",
    "sub",
    "sup",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "hr",
    "a",
    "figure",
    "figcaption",
    "img",
    "div",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    # Everything else an image carries (srcset, sizes, width, height, loading) is written from
    # our own record of it, never taken from the input.
    "img": {"src", "alt"},
}
# Classes allowed on a tag, value by value (any other class is dropped). The blocks of the
# editor's toolbar: the call-to-action button, the callout box and the poll's place.
ALLOWED_CLASSES = {
    "hr": {"more"},
    "p": {"cta"},
    "a": {"button"},
    "div": {"callout", "poll-slot"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Links never hand the opened page a handle on ours, nor leak the reader's URL.
LINK_REL = "noopener noreferrer"

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes=ALLOWED_URL_SCHEMES,
    link_rel=LINK_REL,
    # The content of these is dropped entirely, not kept as text.
    clean_content_tags={"script", "style", "template", "noscript", "title", "textarea"},
    strip_comments=True,
)

# The editor's configuration: what its toolbar offers matches ALLOWED_TAGS.
EDITOR_EXTENSIONS = {
    "Bold": True,
    "Italic": True,
    "Strike": True,
    "Underline": True,
    "Subscript": True,
    "Superscript": True,
    "Heading": {"levels": [2, 3, 4]},
    "BulletList": True,
    "OrderedList": True,
    "ListItem": True,
    "Blockquote": True,
    "HorizontalRule": True,
    "HardBreak": True,
    "Code": True,
    "CodeBlock": True,
    "Link": {"enableTarget": False, "protocols": sorted(ALLOWED_URL_SCHEMES)},
    "HTML": True,
    "SpecialCharacters": True,
    # Our own node (static/js/editor-more.js, registered in settings): the toolbar's "continue
    # reading" button, and what keeps the divider's class when a body is opened again.
    "MoreDivider": True,
    # Ours too (static/js/editor-blocks.js): images uploaded through our pipeline, with alt
    # text and an optional caption; the call-to-action button; the callout; the poll's place.
    "BodyFigure": True,
    "CallToAction": True,
    "Callout": True,
    "PollSlot": True,
}

# Where the post's poll goes: the editor's "poll" block. Posts only know the place; the polls
# app fills it on the page and in the email.
POLL_SLOT = '<div class="poll-slot"></div>'
_POLL_SLOT_RE = re.compile(r'<div class="poll-slot">\s*</div>')
# Body images: our renditions are named body/<key>-<token>-<width>w.webp (posts/images.py).
_IMG_RE = re.compile(r"<img\b[^>]*>")
_ATTR_RE = re.compile(r'([a-zA-Z][\w-]*)="([^"]*)"')
_BODY_KEY_RE = re.compile(rf"/{re.escape(BODY_IMAGE_DIR)}/([0-9a-f]{{16}})-[^/]*$")
_EMPTY_FIGURE_RE = re.compile(r"<figure>(?:(?!<img)[\s\S])*?</figure>")
# Where an image was dropped, while the sanitiser tidies up after it: a private-use character
# (one that came in with the text goes too; it would show as nothing or a box).
_DROPPED = "\ue002"
_DROPPED_ALONE_RE = re.compile(r"<p>(?:\s|<br>|\ue002)*\ue002(?:\s|<br>|\ue002)*</p>")
# The reading column: 42rem wide from 44rem up, the full width below.
BODY_IMAGE_SIZES = "(min-width: 44rem) 42rem, 100vw"
# The src of a body image, for browsers that ignore srcset.
BODY_IMAGE_FALLBACK_WIDTH = 1200

# The "continue reading" divider: where the opening of a post ends. Subscribers-only posts show
# readers who may not read on everything before it, and teaser emails stop there. An HTML
# comment cannot carry it (the sanitiser removes comments), so it is a rule with a class.
MORE_DIVIDER = '<hr class="more">'
# What editors type for it, "<!--more-->" as in other blogging tools: as a comment (HTML source,
# imports) or as text in a paragraph of its own (typed in the editor), dashes made typographic
# or not. Either becomes MORE_DIVIDER when the body is saved. Ghost writes its paywall as the
# comment "<!--members-only-->" (and our Ghost export writes the divider so), which means the
# same: the part before it is what everyone may read.
_DASHES = "[-\u2013\u2014]+"
_MORE_WORD = r"(?:more|members-only)"
_MORE_MARKER = re.compile(
    rf"(?:<p>\s*)?<!{_DASHES}\s*{_MORE_WORD}\s*{_DASHES}>(?:\s*</p>)?"
    rf"|<p>\s*&lt;!{_DASHES}\s*{_MORE_WORD}\s*{_DASHES}&gt;\s*</p>",
    re.IGNORECASE,
)
_MORE_DIVIDER_RE = re.compile(r'<hr class="more"\s*/?>')

WORDS_PER_MINUTE = 230
# Private-use characters mark search highlights; they must never come from the text itself.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_STOP = "\ue001"


def _tag_attributes(tag: str) -> dict[str, str]:
    """Return the attributes of one tag as nh3 writes it (double quotes, entities escaped)."""
    return {name: unescape(value) for name, value in _ATTR_RE.findall(tag)}


def body_image_key(src: str) -> str | None:
    """Return the key of the body image src names, or None when src is not one of ours."""
    match = _BODY_KEY_RE.search((src or "").split("?", 1)[0].split("#", 1)[0])
    return match.group(1) if match else None


def images_without_alt(html: str) -> int:
    """Return how many of our own images in html have no alt text (or only spaces); others
    are dropped anyway, alt or not."""
    count = 0
    for tag in _IMG_RE.findall(_cleaner.clean(html or "")):
        attributes = _tag_attributes(tag)
        if body_image_key(attributes.get("src", "")) and not attributes.get("alt", "").strip():
            count += 1
    return count


def body_image_html(image, *, alt: str) -> str:
    """Return the <img> of a BodyImage: its renditions as srcset, its size, loaded lazily."""
    renditions = sorted(image.renditions, key=lambda rendition: rendition["width"])
    srcset = ", ".join(
        f"{default_storage.url(rendition['name'])} {rendition['width']}w"
        for rendition in renditions
    )
    src = default_storage.url(image.rendition_for(BODY_IMAGE_FALLBACK_WIDTH)["name"])
    return (
        f'<img src="{escape(src)}" srcset="{escape(srcset)}" sizes="{BODY_IMAGE_SIZES}" '
        f'width="{image.width}" height="{image.height}" alt="{escape(alt)}" '
        'loading="lazy" decoding="async">'
    )


def _images(cleaned: str) -> str:
    """Keep only the images our pipeline made, with alt text; write each one out in full.

    Anything else (another site's picture pasted from Word or Google Docs, a data: URL, a
    rendition typed by hand that we have no record of, an image without alt text) is dropped,
    and a figure left without its image goes with it.
    """
    tags = _IMG_RE.findall(cleaned)
    if not tags:
        return cleaned
    # Imported here: the model module imports this one for Post.save().
    from posts.models import BodyImage

    wanted = {key for tag in tags if (key := body_image_key(_tag_attributes(tag).get("src")))}
    # No query unless an image is shaped like ours (a body from before body images has none,
    # so migration 0002's re-sanitising never needs this table).
    known = (
        {image.key: image for image in BodyImage.objects.filter(key__in=wanted)} if wanted else {}
    )

    def replace(match: re.Match) -> str:
        attributes = _tag_attributes(match.group(0))
        image = known.get(body_image_key(attributes.get("src")) or "")
        alt = " ".join(attributes.get("alt", "").split())
        if image is None or not alt:
            return _DROPPED
        return body_image_html(image, alt=alt)

    kept = _EMPTY_FIGURE_RE.sub("", _IMG_RE.sub(replace, cleaned))
    # A paragraph that held nothing but a dropped image goes with it.
    return _DROPPED_ALONE_RE.sub("", kept).replace(_DROPPED, "")


def _one_poll_slot(cleaned: str) -> str:
    """Keep the first poll block only: a post's polls have one place in its body."""
    seen = False

    def replace(match: re.Match) -> str:
        nonlocal seen
        if seen:
            return ""
        seen = True
        return POLL_SLOT

    return _POLL_SLOT_RE.sub(replace, cleaned)


def sanitize_body(html: str) -> str:
    """Return html reduced to the allow-list: no scripts, handlers, styles or unsafe URLs, and
    no images but the ones our pipeline made."""
    if not html:
        return ""
    cleaned = _cleaner.clean(_MORE_MARKER.sub(MORE_DIVIDER, html)).strip()
    # A tag that had only classes we do not keep loses the empty attribute.
    cleaned = cleaned.replace(' class=""', "")
    cleaned = _one_poll_slot(_images(cleaned))
    # An editor left with nothing but an empty paragraph means an empty body.
    return "" if cleaned in {"<p></p>", "<p><br></p>"} else cleaned


class _TextConverter(HTMLParser):
    """Body HTML to text. Plain (search, feeds, reading time): blocks become paragraphs.
    With marks (the text/plain part of an email): also "## " headings, "- " list items,
    "> " quotes, link addresses in brackets, image alt texts, and preformatted text as it is."""

    BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "pre",
              "figure", "figcaption", "table", "tr", "hr"}  # fmt: skip

    def __init__(self, *, marks: bool):
        super().__init__(convert_charrefs=True)
        self.marks = marks
        self.out: list[str] = []
        self.href: list[str | None] = []
        self.link_text: list[str] = []
        self.quote = 0
        self.pre = 0

    def _mark(self, text: str) -> None:
        if self.marks:
            self.out.append(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.BLOCKS:
            self.out.append("\n\n")
        if tag in {"h1", "h2", "h3"}:
            self._mark("## ")
        elif tag == "li":
            self.out.append("\n")
            self._mark("- ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "hr":
            self._mark("----")
        elif tag == "img" and attrs.get("alt"):
            self._mark(f"[{attrs['alt']}]")
        elif tag == "a":
            self.href.append(attrs.get("href"))
            self.link_text = []

    def handle_endtag(self, tag):
        if tag == "a" and self.href:
            href = self.href.pop()
            text = "".join(self.link_text).strip()
            if href and not href.startswith("mailto:") and href != text:
                self._mark(f" ({href})")
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.BLOCKS or (tag == "li" and not self.marks):
            self.out.append("\n\n")

    def handle_data(self, data):
        if self.marks:
            if not self.pre:
                data = re.sub(r"\s+", " ", data)
            if self.quote and data.strip():
                data = "> " + data.lstrip()
        if self.href and self.href[-1] is not None:
            self.link_text.append(data)
        self.out.append(data)

    def text(self) -> str:
        raw = "".join(self.out)
        if not self.marks:
            raw = raw.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "")
            paragraphs = [" ".join(chunk.split()) for chunk in raw.split("\n")]
            return "\n\n".join(p for p in paragraphs if p)
        lines = [line.strip() if not self.pre else line.rstrip() for line in raw.split("\n")]
        return unescape(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())


def html_to_text(html: str, *, marks: bool = False) -> str:
    """Return the readable text of html.

    Plain, for search, feeds and reading time: blocks separated by blank lines. With marks, for
    the plain-text part of an email: headings, lists, quotes and link addresses stay visible.
    """
    converter = _TextConverter(marks=marks)
    converter.feed(html or "")
    converter.close()
    return converter.text()


def reading_minutes(text: str) -> int:
    """Return the minutes an average reader needs for text, at least one."""
    return max(1, round(len(text.split()) / WORDS_PER_MINUTE))


class _OpeningCutter(HTMLParser):
    """Collect the first few top-level blocks of already-sanitised HTML."""

    def __init__(self, blocks: int, min_words: int):
        super().__init__(convert_charrefs=False)
        self.blocks, self.min_words = blocks, min_words
        self.depth = 0
        self.done_blocks = 0
        self.words = 0
        self.out: list[str] = []
        self.finished = False

    def handle_starttag(self, tag, attrs):
        if self.finished:
            return
        self.out.append(self.get_starttag_text() or "")
        if tag not in {"br", "hr"}:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        if not self.finished:
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if self.finished:
            return
        self.out.append(f"</{tag}>")
        self.depth -= 1
        if self.depth == 0:
            self.done_blocks += 1
            if self.done_blocks >= self.blocks and self.words >= self.min_words:
                self.finished = True

    def handle_data(self, data):
        if not self.finished:
            self.out.append(data)
            self.words += len(data.split())

    def handle_entityref(self, name):
        if not self.finished:
            self.out.append(f"&{name};")

    def handle_charref(self, name):
        if not self.finished:
            self.out.append(f"&#{name};")


def opening_html(html: str, *, blocks: int = 2, min_words: int = 60) -> str:
    """Return the opening of a body: its first blocks, enough for about min_words words.

    Readers who may not read a subscribers-only post see this much before the gate: everything
    before the "continue reading" divider when the body has one.
    """
    if (parts := split_at_more(html)) is not None:
        return parts[0]
    cutter = _OpeningCutter(blocks, min_words)
    cutter.feed(html or "")
    cutter.close()
    # Re-clean so that any element the cut left open is closed and nothing new slips in.
    return sanitize_body("".join(cutter.out))


def split_at_more(html: str) -> tuple[str, str] | None:
    """Return the sanitised body html cut in two at its first "continue reading" divider (the
    divider itself in neither part), or None when it has none."""
    match = _MORE_DIVIDER_RE.search(html or "")
    if match is None:
        return None
    return html[: match.start()].rstrip(), html[match.end() :].lstrip()


def without_more(html: str) -> str:
    """Return html without its "continue reading" dividers, for where the whole body shows."""
    return _MORE_DIVIDER_RE.sub("", html or "")


def split_at_poll_slot(html: str) -> tuple[str, str] | None:
    """Return html cut in two at its poll block (the block itself in neither part), or None
    when it has none."""
    match = _POLL_SLOT_RE.search(html or "")
    if match is None:
        return None
    return html[: match.start()].rstrip(), html[match.end() :].lstrip()
