"""What Unicode lets a string hide, for the two checks built on it: email addresses
(accounts.addresses) and display names (accounts.names).

Script and look-alike data come from confusable-homoglyphs (Unicode's Scripts.txt and the
UTS #39 confusables table); the standard library knows neither.
"""

import unicodedata
from functools import cache

from confusable_homoglyphs import categories, confusables

# Characters that change the direction of the text around them (Unicode's Bidi_Control).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters that draw nothing: Hangul fillers, and the blank braille pattern.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Joiners some scripts need inside a word (Persian, Indic scripts, emoji sequences).
JOINERS = frozenset("\u200c\u200d")
# Scripts that may share one word: Japanese and Korean writing mix them, and Latin digits or
# letters appear beside them (Unicode's "highly restrictive" profile, UTS #39 section 5.2).
MIXABLE = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})


def describe(char: str) -> str:
    """“ı” (U+0131 LATIN SMALL LETTER DOTLESS I), for messages that must name what they
    refuse; invisible characters are shown by their code point only."""
    fallback = "control character" if unicodedata.category(char) == "Cc" else "unnamed character"
    name = unicodedata.name(char, fallback)
    shown = f"“{char}” " if char.isprintable() and not char.isspace() else ""
    return f"{shown}(U+{ord(char):04X} {name})"


def scripts(text: str) -> set[str]:
    """The scripts of text's letters and digits: {"LATIN", "CYRILLIC"}; punctuation, digits
    shared by all scripts and combining marks belong to none."""
    return set(categories.unique_aliases(text)) - NEUTRAL_SCRIPTS - {"Unknown"}


def is_mixed_script(text: str) -> bool:
    """True if text mixes scripts that do not belong together (Latin with Cyrillic, say)."""
    found = scripts(text)
    return len(found) > 1 and not any(found <= allowed for allowed in MIXABLE)


def latin_lookalike(char: str) -> str | None:
    """The plain Latin letter or digit char is drawn like, if any: "а" (Cyrillic) gives "a"."""
    return _ascii_prototypes().get(char)


def looks_latin(text: str) -> bool:
    """True if every letter of text that is not Latin is drawn like a Latin one (a whole
    word of Cyrillic "а", "с", "е" reads as the Latin "ace")."""
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and all(
        char.isascii() or latin_lookalike(char) is not None for char in letters
    )


@cache
def _ascii_prototypes() -> dict[str, str]:
    """Every non-ASCII character UTS #39 calls confusable with one ASCII letter or digit."""
    table = {}
    for char, homoglyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        plain = sorted(
            glyph["c"]
            for glyph in homoglyphs
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalnum()
        )
        if plain:
            # Letters before digits: "О" reads as the letter O sooner than as zero.
            table[char] = min(plain, key=lambda glyph: (not glyph.isalpha(), glyph))
    return table
