"""The rule for display names: what a reader may show beside their comments.

A name is trimmed and put in Unicode's composed form (NFC). Refused:

- control characters (line breaks, tabs, NUL) and line or paragraph separators: a name is
  one line, in a page, an email header or a log line alike;
- characters that change the direction of the text (U+202A–U+202E, U+2066–U+2069, the
  left-to-right and right-to-left marks, the Arabic letter mark): they make a name read
  differently from how it is stored, and can turn the words beside it around;
- invisible characters (zero-width spaces, soft hyphens, byte order marks, Hangul fillers...),
  except the zero-width joiner and non-joiner between two visible characters, which Persian,
  Indic scripts and emoji need;
- names with nothing visible in them;
- for readers, a name too close to a staff member's: equal once look-alike letters from other
  alphabets are read as the Latin ones, accents, case, spacing and punctuation are set aside,
  and 0/O, 1/l/I, "rn"/"m" and "vv"/"w" are read as one ("Morgan Reyes" with a Cyrillic "о",
  "MORGAN  REYES", "M0rgan Reyes"). Editors' names sit next to an editor's badge; a reader
  must not be mistaken for one.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.lookalikes import (
    BIDI_CONTROLS,
    INVISIBLE_LETTERS,
    JOINERS,
    describe,
    latin_lookalike,
)

_VISIBLE_CATEGORIES = ("L", "N", "P", "S")


def normalize(raw: str) -> str:
    return unicodedata.normalize("NFC", (raw or "").strip())


def problem(raw: str) -> str | None:
    """Why raw may not be a display name (a sentence for its writer), or None. Says nothing
    about staff names; see too_close_to_staff()."""
    name = normalize(raw)
    if not name:
        return None  # An empty name is allowed: the site shows the start of the address.
    for index, char in enumerate(name):
        category = unicodedata.category(char)
        if char in BIDI_CONTROLS:
            return _(
                "A name cannot contain characters that change the direction of text (this one "
                "has %(char)s)."
            ) % {"char": describe(char)}
        if category in {"Cc", "Zl", "Zp"}:
            return _(
                "A name must be one line, without control characters (this one has %(char)s)."
            ) % {"char": describe(char)}
        if char in JOINERS and _between_visible(name, index):
            continue
        if category in {"Cf", "Cs", "Co", "Cn"} or char in INVISIBLE_LETTERS:
            return _("A name cannot contain invisible characters (this one has %(char)s).") % {
                "char": describe(char)
            }
    if not any(_is_visible(char) for char in name):
        return _("A name needs at least one visible letter, digit or sign.")
    return None


def _is_visible(char: str) -> bool:
    return unicodedata.category(char)[0] in _VISIBLE_CATEGORIES and char not in INVISIBLE_LETTERS


def _between_visible(name: str, index: int) -> bool:
    return (
        0 < index < len(name) - 1
        and (_is_visible(name[index - 1]) or unicodedata.category(name[index - 1]).startswith("M"))
        and _is_visible(name[index + 1])
    )


# Plain look-alikes, read as one after case folding.
_ASCII_FOLDS = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "!": "l"})
_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def skeleton(name: str) -> str:
    """What a name looks like, give or take: two names with one skeleton are easy to mistake
    for each other. Compatibility forms become plain (NFKC), accents and invisible characters
    go, letters drawn like Latin ones become those, case is folded, look-alike ASCII is read as
    one, and only letters and digits are kept."""
    text = unicodedata.normalize("NFKD", name)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("M") or category.startswith("C") or char in INVISIBLE_LETTERS:
            continue
        kept.append(latin_lookalike(char) or char)
    text = "".join(kept).casefold()
    text = unicodedata.normalize("NFKC", text).translate(_ASCII_FOLDS)
    for sequence, letter in _SEQUENCES:
        text = text.replace(sequence, letter)
    return re.sub(r"[\W_]+", "", text)


def too_close_to_staff(name: str, *, exclude_pk=None) -> bool:
    """True if name would be mistaken for the public name of an active staff member."""
    from accounts.models import User

    key = skeleton(name)
    if not key:
        return False
    staff = User.objects.filter(is_staff=True, is_active=True).exclude(pk=exclude_pk)
    return any(
        skeleton(member.public_name) == key
        for member in staff.only("email", "display_name").iterator()
    )


def clean(raw: str) -> str:
    """Return the name as stored, or raise ValidationError saying what is wrong with it."""
    reason = problem(raw)
    if reason:
        raise ValidationError(reason, code="refused_name")
    return normalize(raw)


def validate_display_name(value: str) -> None:
    """The rule (without the staff comparison) as a model field validator."""
    clean(value)
