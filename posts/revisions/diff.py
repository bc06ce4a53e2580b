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


def _words(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(b[j1:j2])))
    return pieces


def compare_text(old: str, new: str) -> list[Line]:
    """Return the paragraphs of new against old, with what was added, removed or changed."""
    a = [p for p in old.split("\n\n") if p.strip()]
    b = [p for p in new.split("\n\n") if p.strip()]
    lines: list[Line] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            lines += [Line("same", [("same", p)]) for p in a[i1:i2]]
        elif op == "replace" and i2 - i1 == j2 - j1:
            for old_p, new_p in zip(a[i1:i2], b[j1:j2], strict=True):
                lines.append(Line("changed", _words(old_p, new_p)))
        else:
            lines += [Line("removed", [("removed", p)]) for p in a[i1:i2]]
            lines += [Line("added", [("added", p)]) for p in b[j1:j2]]
    return lines


def compare_revisions(old, new) -> dict:
    """Return the comparison of two revisions' title, subtitle and body, for the template."""
    return {
        "title": _words(old.title, new.title),
        "subtitle": _words(old.subtitle, new.subtitle),
        "body": compare_text(html_to_text(old.body), html_to_text(new.body)),
        "body_changed": old.body != new.body,
    }
