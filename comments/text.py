"""Comment text: readers type plain text; pages show it as safe HTML.

Everything a reader typed is escaped. The only markup we add ourselves is paragraphs, line
breaks and links for http(s) addresses, so there is no HTML from the reader to sanitise.
"""

import re

from django.utils.html import escape

# An address starts with a scheme or "www." and runs to the next whitespace or character that
# cannot be part of a URL in running text. Trailing punctuation is trimmed afterwards.
URL_RE = re.compile(r"""(?:https?://|www\.)[^\s<>"'`]+""", re.IGNORECASE)
TRAILING = ".,;:!?'\""
LINK_REL = "nofollow ugc noopener"


def normalize(text: str) -> str:
    """Return text with Windows and old Mac line endings turned into plain newlines."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _trim(url: str) -> tuple[str, str]:
    """Split trailing punctuation (and an unbalanced closing bracket) off a matched address."""
    tail = ""
    while url:
        last = url[-1]
        if last in TRAILING or last == ")" and url.count("(") < url.count(")"):
            url, tail = url[:-1], last + tail
        else:
            break
    return url, tail


def find_links(text: str) -> list[str]:
    """Return the addresses in text, as they would be linked."""
    links = []
    for match in URL_RE.finditer(normalize(text)):
        url, _tail = _trim(match.group(0))
        if url and not url.lower().endswith(("://", "www.")):
            links.append(url)
    return links


def _linkify_line(line: str) -> str:
    out = []
    position = 0
    for match in URL_RE.finditer(line):
        url, tail = _trim(match.group(0))
        out.append(escape(line[position : match.start()]))
        href = "https://" + url if url.lower().startswith("www.") else url
        if url and not url.lower().endswith(("://", "www.")):
            out.append(f'<a href="{escape(href)}" rel="{LINK_REL}">{escape(url)}</a>')
        else:
            out.append(escape(url))
        out.append(escape(tail))
        position = match.end()
    out.append(escape(line[position:]))
    return "".join(out)


def render_body(text: str) -> str:
    """Return the HTML for a comment: escaped, links added, blank lines make paragraphs and
    single newlines line breaks."""
    text = normalize(text).strip()
    if not text:
        return ""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(_linkify_line(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )


def find_blocked(text: str, words: list[str]) -> list[str]:
    """Return the entries of the block list that text contains as whole words, any case."""
    found = []
    for word in words:
        pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
        if re.search(pattern, text, re.IGNORECASE):
            found.append(word)
    return found
