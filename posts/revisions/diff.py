"""A readable comparison of two revisions: paragraph by paragraph, words marked where they
changed. Plain data for a template, which escapes every piece of text."""

import difflib
import re
from dataclasses import dataclass, field

from posts.richtext import html_to_text

_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass
class Line:
    """One paragraph of the comparison: "same", "added", "removed" or "changed".

    pieces are (kind, text) pairs with kind "same", "added" or "removed", so a changed
    paragraph shows its removed and added words in place.
    """

    kind: str
    pieces: list[tuple[str, str]] = field(default_factory=list)


# Paragraphs this alike are shown as one changed paragraph rather than removed and added.
SIMILAR = 0.4


def _words(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    opcodes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    # Changes separated only by a space read as one change: "old words" -> "new words".
    merged: list[list] = []
    for op, i1, i2, j1, j2 in opcodes:
        after_change = bool(merged) and merged[-1][0] != "equal"
        only_space = not "".join(a[i1:i2]).strip() and (i2, j2) != (len(a), len(b))
        if after_change and (op != "equal" or only_space):
            merged[-1][2], merged[-1][4] = i2, j2
        else:
            merged.append([op if op == "equal" else "replace", i1, i2, j1, j2])
    pieces: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in merged:
        if op == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(b[j1:j2])))
    return pieces


def _similar(old: str, new: str) -> bool:
    return difflib.SequenceMatcher(a=old, b=new, autojunk=False).ratio() >= SIMILAR


def compare_text(old: str, new: str) -> list[Line]:
    """Return the paragraphs of new against old, with what was added, removed or changed."""
    a = [p for p in old.split("\n\n") if p.strip()]
    b = [p for p in new.split("\n\n") if p.strip()]
    lines: list[Line] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            lines += [Line("same", [("same", p)]) for p in a[i1:i2]]
        else:
            olds, news = a[i1:i2], b[j1:j2]
            # Pair paragraphs in order while they stay alike; the rest were removed or added.
            while olds and news and _similar(olds[0], news[0]):
                lines.append(Line("changed", _words(olds.pop(0), news.pop(0))))
            lines += [Line("removed", [("removed", p)]) for p in olds]
            lines += [Line("added", [("added", p)]) for p in news]
    return lines


def compare_revisions(old, new) -> dict:
    """Return the comparison of two revisions' title, subtitle and body, for the template."""
    return {
        "title": _words(old.title, new.title),
        "subtitle": _words(old.subtitle, new.subtitle),
        "body": compare_text(html_to_text(old.body), html_to_text(new.body)),
        "body_changed": old.body != new.body,
    }
