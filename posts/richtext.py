"""The post body as HTML: the allow-list it is cleaned with, and the text derived from it.

Every body passes through :func:`sanitize_body` when a post is saved, whatever wrote it (the
admin editor, its HTML source view, the shell or an import), so templates may print it as safe.
"""

from html.parser import HTMLParser

import nh3

# What the editor can produce, and nothing else. No images, iframes or styles: a body can't load
# anything from another host, and the site's stylesheet decides how it looks.
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
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Links never hand the opened page a handle on ours, nor leak the reader's URL.
LINK_REL = "noopener noreferrer"

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
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
}

BLOCK_TAGS = {"p", "h2", "h3", "h4", "pre", "blockquote", "ul", "ol", "li", "hr", "br"}
WORDS_PER_MINUTE = 230
# Private-use characters mark search highlights; they must never come from the text itself.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_STOP = "\ue001"


def sanitize_body(html: str) -> str:
    """Return html reduced to the allow-list: no scripts, handlers, styles or unsafe URLs."""
    if not html:
        return ""
    cleaned = _cleaner.clean(html).strip()
    # An editor left with nothing but an empty paragraph means an empty body.
    return "" if cleaned in {"<p></p>", "<p><br></p>"} else cleaned


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the readable text of html, blocks separated by blank lines, for search and feeds."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.parts)
    text = text.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "")
    paragraphs = [" ".join(chunk.split()) for chunk in text.split("\n")]
    return "\n\n".join(p for p in paragraphs if p)


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

    Readers who may not read a subscribers-only post see this much before the gate.
    """
    cutter = _OpeningCutter(blocks, min_words)
    cutter.feed(html or "")
    cutter.close()
    # Re-clean so that any element the cut left open is closed and nothing new slips in.
    return sanitize_body("".join(cutter.out))
