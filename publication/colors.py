"""Colours: parsing "#rrggbb", WCAG contrast, and the site's backgrounds an accent must suit.

The backgrounds are the ``--paper``, ``--paper-soft`` and ``--accent-ink`` custom properties of
futureforward/static/css/site.css, light and dark (a test holds the two in step). An accent is
link text on both papers, and the background of buttons whose label is ``--accent-ink``, so it
must reach WCAG AA's 4.5:1 against each of them.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

HEX_RE = re.compile(r"^#[0-9a-f]{6}$")
AA_TEXT = 4.5

# (what it is, colour) an accent is read on or against, per scheme.
PAGE, PANELS, LABELS = (
    gettext_lazy("the page"),
    gettext_lazy("panels"),
    gettext_lazy("button labels"),
)
LIGHT_BACKGROUNDS = ((PAGE, "#ffffff"), (PANELS, "#f4f5f7"), (LABELS, "#ffffff"))
DARK_BACKGROUNDS = ((PAGE, "#15181c"), (PANELS, "#1f2328"), (LABELS, "#0b1a22"))


def normalise(value: str) -> str:
    """Return value as lower-case "#rrggbb" ("#abc" is widened), or raise ValidationError."""
    text = (value or "").strip().lower()
    if re.fullmatch(r"#[0-9a-f]{3}", text):
        text = "#" + "".join(c * 2 for c in text[1:])
    if not HEX_RE.match(text):
        raise ValidationError(
            _("Enter a colour as # and six hexadecimal digits, like #0b4f6c."), code="malformed"
        )
    return text


def luminance(color: str) -> float:
    """Return the relative luminance of "#rrggbb" (WCAG 2.x)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """Return the WCAG contrast ratio of two "#rrggbb" colours, from 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ink_on(accent: str, *, light: str, dark: str) -> str:
    """Return whichever of light and dark reads better on accent (for button labels)."""
    return light if contrast(accent, light) >= contrast(accent, dark) else dark


# The button label colours site.css pairs with its accents, light and dark.
LIGHT_INKS = {"light": "#ffffff", "dark": "#1a1d21"}
DARK_INKS = {"light": "#ffffff", "dark": "#0b1a22"}


def accent_inks(accent: str, *, dark: bool) -> str:
    """Return the button label colour for accent in the light or dark theme."""
    return ink_on(accent, **(DARK_INKS if dark else LIGHT_INKS))


def check_accent(value: str, *, dark: bool) -> None:
    """Raise ValidationError unless value reads at 4.5:1 or more on the scheme's backgrounds."""
    color = normalise(value)
    backgrounds = DARK_BACKGROUNDS if dark else LIGHT_BACKGROUNDS
    worst_name, worst_bg = min(backgrounds, key=lambda item: contrast(color, item[1]))
    ratio = contrast(color, worst_bg)
    if ratio < AA_TEXT:
        scheme = _("dark") if dark else _("light")
        hint = _("Choose a lighter colour.") if dark else _("Choose a darker colour.")
        raise ValidationError(
            _(
                "%(color)s has a contrast ratio of %(ratio)s:1 against %(what)s (%(bg)s) in the "
                "%(scheme)s theme; text needs at least 4.5:1 (WCAG AA). %(hint)s"
            )
            % {
                "color": color,
                # Rounded down, so 4.49 never shows as a passing 4.5.
                "ratio": f"{int(ratio * 100) / 100:.2f}",
                "what": worst_name,
                "bg": worst_bg,
                "scheme": scheme,
                "hint": hint,
            },
            code="low_contrast",
        )


def validate_light_accent(value: str) -> None:
    check_accent(value, dark=False)


def validate_dark_accent(value: str) -> None:
    check_accent(value, dark=True)
