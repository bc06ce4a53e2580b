"""The reading measure: a post's paragraph runs about 60–75 characters a line on a desktop, and
nothing overflows the viewport on a phone."""

import pytest

from tests.factories import PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PARAGRAPH = (
    "The night trams run along the river until the bridges close, and the people who ride them "
    "are the people who keep the city working while it sleeps: nurses, bakers, cleaners, the "
    "drivers of other trams going home. Their timetable is the city's real clock, and it has been "
    "rewritten three times in ten years without anyone asking them what they needed from it."
)

# Characters on the paragraph's first line: walk a Range over the text until its top moves.
FIRST_LINE = """p => {
  const text = p.firstChild; const range = document.createRange();
  range.setStart(text, 0); range.setEnd(text, 1);
  const top = range.getBoundingClientRect().top;
  for (let i = 1; i < text.length; i++) {
    range.setStart(text, i); range.setEnd(text, i + 1);
    if (range.getBoundingClientRect().top > top + 2) return i;
  }
  return text.length;
}"""


@pytest.fixture
def post():
    return PostFactory(title="Trams after dark", slug="trams", body=f"<p>{PARAGRAPH}</p>" * 3)


def open_post(open_page, post, width):
    page = open_page(width=width)
    page.goto(post.get_absolute_url())
    page.evaluate("document.fonts.ready")
    return page


def test_a_post_line_holds_60_to_75_characters_on_a_desktop(open_page, post):
    page = open_post(open_page, post, 1280)
    family = page.eval_on_selector(".post-body p", "p => getComputedStyle(p).fontFamily")
    assert "Source Serif 4" in family
    characters = page.eval_on_selector(".post-body p", FIRST_LINE)
    assert 60 <= characters <= 75, characters


@pytest.mark.parametrize("path", ["post", "/", "/archive/"])
def test_nothing_overflows_a_phone(open_page, post, path):
    page = open_post(open_page, post, 375)
    if path != "post":
        page.goto(path)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    if path == "post":
        characters = page.eval_on_selector(".post-body p", FIRST_LINE)
        assert characters >= 30, characters  # still a line, not a column of words
