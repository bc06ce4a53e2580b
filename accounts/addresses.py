"""The one rule for email addresses, applied wherever an address comes in: subscribing, logging
in by code, adding or changing an address, the admin's reader form, the subscriber import, and
(as a last guard) every email allauth sends.

An address someone types is either exactly one mailbox, stored in one form, or refused with a
message that says why. Refused:

- invisible, format and control characters anywhere (a zero-width space, a soft hyphen, a
  direction mark, a line break), and spaces inside: IDNA drops some of them, so
  "ada@\u200bexample.com" would be a second account whose mail reaches ada@example.com;
- characters that compatibility normalisation (NFKC) would change: full-width letters,
  ligatures, mathematical letters, the long "ſ"; they stand for plain ones and are mailed
  as those;
- anything but plain ASCII before the @: Django's own check means to allow only that, but
  lets through the dotless "ı" and the long "ſ", which Python's case-insensitive matching
  pairs with "i" and "s";
- a domain that mixes alphabets in one label ("exаmple.com" with a Cyrillic "а"), that is made
  only of non-Latin letters drawn like Latin ones, or that IDNA would change ("straße.de" is
  mailed to strasse.de), and a domain typed in punycode ("xn--mnchen-3ya.de" is münchen.de,
  which has one spelling here);
- a domain without a dot ("localhost", an intranet name), a dot at its end (the same
  mailbox as without it), and an IP address in brackets ("user@[127.0.0.1]").

Kept: surrounding spaces are trimmed, the text is put in Unicode's composed form (NFC: the same
text, so the Kelvin sign becomes "K") and lower-cased, as before. Internationalised domains
written in one script ("user@münchen.de") stay welcome.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from accounts.lookalikes import describe, is_mixed_script, latin_lookalike, looks_latin, scripts

MAX_LENGTH = 254
# Invisible, format, control, surrogate, private-use and unassigned characters, and line and
# paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalize(raw: str) -> str:
    """The form an address is stored and looked up in: trimmed, composed (NFC), lower-cased.
    Changes nothing a mail server would tell apart, so it never refuses; problem() does."""
    return unicodedata.normalize("NFC", (raw or "").strip()).lower()


def problem(raw: str) -> str | None:
    """Why raw may not be used as an address (a sentence for the person who typed it), or
    None if it may."""
    address = unicodedata.normalize("NFC", (raw or "").strip())
    if not address:
        return _("Enter an email address.")
    for char in address:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES or char.isspace():
            return _(
                "An email address cannot contain spaces, invisible or control characters; "
                "this one has %(char)s. Type it again by hand."
            ) % {"char": describe(char)}
    if unicodedata.normalize("NFKC", address) != address:
        char = next(c for c in address if unicodedata.normalize("NFKC", c) != c)
        return _(
            "This address has %(char)s, which stands for a plain character. Type it with "
            "ordinary letters."
        ) % {"char": describe(char)}
    if len(address) > MAX_LENGTH:
        return _("An email address can have at most %(max)d characters.") % {"max": MAX_LENGTH}
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return _("Enter a valid email address.")
    for char in local:
        if not char.isascii():
            plain = latin_lookalike(char)
            if plain:
                return _(
                    "The part before the @ has %(char)s, which looks like “%(plain)s” but is "
                    "another character. Use plain letters a–z, digits and . _ + -."
                ) % {"char": describe(char), "plain": plain}
            return _(
                "The part before the @ can only use plain letters a–z, digits and . _ + -; "
                "this one has %(char)s."
            ) % {"char": describe(char)}
    domain_problem = _domain_problem(domain)
    if domain_problem:
        return domain_problem
    try:
        validate_email(address.lower())
    except ValidationError:
        return _("Enter a valid email address.")
    return None


def _domain_problem(domain: str) -> str | None:
    if domain.startswith("[") or domain.replace(".", "").isdigit():
        return _("Use an address at a domain name, not at an IP address.")
    if domain.endswith("."):
        return _("Remove the dot at the end of the address.")
    if "." not in domain:
        return _("The part after the @ must be a full domain name, such as example.com.")
    for label in domain.split("."):
        if label.isascii():
            continue
        if is_mixed_script(label):
            return _(
                "The part after the @ mixes alphabets in “%(label)s” (%(scripts)s); letters "
                "from another alphabet can look like Latin ones. Check the address."
            ) % {"label": label, "scripts": ", ".join(sorted(scripts(label))).title()}
        if looks_latin(label):
            return _(
                "The part after the @ is written in letters that look like Latin ones "
                "(“%(label)s”). Check the address."
            ) % {"label": label}
    try:
        ascii_domain = domain.lower().encode("idna")
        round_trip = ascii_domain.decode("idna")
    except UnicodeError:
        return _("The part after the @ is not a valid domain name.")
    if domain.isascii() and round_trip != domain.lower():
        # Punycode typed by hand: one mailbox, one spelling, the one people read.
        return _("Type the domain in its own letters: “%(domain)s”.") % {"domain": round_trip}
    if round_trip != domain.lower():
        return _(
            "The part after the @ would be sent to “%(sent)s”, not to what you typed. Type the "
            "domain as it is registered."
        ) % {"sent": round_trip}
    return None


def clean(raw: str) -> str:
    """Return the stored form of raw, or raise ValidationError saying what is wrong with it."""
    reason = problem(raw)
    if reason:
        raise ValidationError(reason, code="refused_address")
    return normalize(raw)


def validate_address(value: str) -> None:
    """The rule as a model field validator (the admin's reader form, full_clean())."""
    clean(value)
