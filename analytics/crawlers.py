"""Known crawlers and link scanners, from the crawler-user-agents list, checked fast.

The package's own is_crawler() tries some 1,500 patterns in turn: about a millisecond for an
ordinary browser, as long as rendering a page. Most patterns are plain text, so they are
indexed here by their first three characters; a browser string only meets the few whose
opening three characters it contains, plus one regular expression of the real patterns.
Same answers as the package (tests/analytics/test_crawlers.py checks every example it ships).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict

from crawleruseragents import CRAWLER_USER_AGENTS_DATA

_ESCAPED = re.compile(r"\\([^A-Za-z0-9])")  # "\/" and "\." stand for themselves
_SPECIAL = re.compile(r"[\\.^$*+?()\[\]{}|]")


def _plain(pattern: str) -> str | None:
    """Return the text a pattern matches literally, or None if it is a real expression."""
    text = _ESCAPED.sub(lambda match: "\0" + match.group(1), pattern)
    if _SPECIAL.search(text.replace("\0.", "").replace("\0", "")):
        return None
    return text.replace("\0", "")


def _build():
    by_opening: dict[str, list[str]] = defaultdict(list)
    short: list[str] = []
    expressions: list[str] = []
    for entry in CRAWLER_USER_AGENTS_DATA:
        text = _plain(entry["pattern"])
        if text is None:
            expressions.append(entry["pattern"])
        elif len(text) < 3:
            short.append(text)
        else:
            by_opening[text[:3]].append(text)
    expression = re.compile("|".join(f"(?:{p})" for p in expressions)) if expressions else None
    return dict(by_opening), short, expression


_BY_OPENING, _SHORT, _EXPRESSION = _build()


@functools.lru_cache(maxsize=8192)
def is_crawler(browser: str) -> bool:
    """Return True if browser (a User-Agent string) is a known crawler or link scanner."""
    for start in range(len(browser) - 2):
        for text in _BY_OPENING.get(browser[start : start + 3], ()):
            if browser.startswith(text, start):
                return True
    if any(text in browser for text in _SHORT):
        return True
    return _EXPRESSION is not None and _EXPRESSION.search(browser) is not None
