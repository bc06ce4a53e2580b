"""WCAG contrast as the accent check computes it, against published reference values."""

import pytest
from django.core.exceptions import ValidationError

from publication import colors

pytestmark = pytest.mark.django_db  # the suite's autouse fixtures clear the database cache


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes AA on white
        ("#777777", "#ffffff", 4.48),
    ],
)
def test_contrast_matches_wcag(a, b, ratio):
    assert colors.contrast(a, b) == pytest.approx(ratio, abs=0.01)
    assert colors.contrast(b, a) == colors.contrast(a, b)


@pytest.mark.parametrize(
    ("value", "expected"), [(" #0B4F6C ", "#0b4f6c"), ("#fc0", "#ffcc00"), ("#ABCDEF", "#abcdef")]
)
def test_colours_are_normalised(value, expected):
    assert colors.normalise(value) == expected


@pytest.mark.parametrize("value", ["", "0b4f6c", "#0b4f6", "#0b4f6c0", "red", "#gggggg", "url(x)"])
def test_anything_but_a_hex_colour_is_malformed(value):
    with pytest.raises(ValidationError) as refused:
        colors.normalise(value)
    assert refused.value.code == "malformed"


def test_a_light_accent_is_checked_against_the_light_theme_only():
    colors.check_accent("#0b4f6c", dark=False)
    with pytest.raises(ValidationError, match=r"1\.76:1 against panels \(#1f2328\) in the dark"):
        colors.check_accent("#0b4f6c", dark=True)


def test_the_ratio_is_never_rounded_up_to_a_pass():
    # #777777 on the panels is 4.105…:1; shown as 4.10, never 4.11 or 4.5.
    with pytest.raises(ValidationError, match=r"4\.10:1"):
        colors.check_accent("#777777", dark=False)
