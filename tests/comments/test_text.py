"""Plain text in, safe HTML out."""

from html.parser import HTMLParser

import pytest

from comments.text import find_blocked, find_links, render_body

# The autouse settings fixture clears the database-backed cache.
pytestmark = pytest.mark.django_db

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    '"><script>alert(document.cookie)</script>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=//evil.example></iframe>",
    "<body onload=alert(1)>",
    "';alert(String.fromCharCode(88,83,83))//",
    '<div style="background:url(javascript:alert(1))">',
    'https://example.com/"onmouseover="alert(1)',
    "https://example.com/<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


def parse(html):
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_come_out_as_text(payload):
    parsed = parse(render_body(payload))
    for tag, attrs in parsed.elements:
        # Only the markup we add ourselves, with only the attributes we set.
        assert tag in {"p", "br", "a"}, tag
        if tag == "a":
            assert set(attrs) == {"href", "rel"}
            assert attrs["href"].startswith("https://")
    # What the reader typed is what a reader sees, as text.
    assert parsed.text.replace("\n", "") == payload.replace("\n", "")


def test_text_is_escaped_and_line_breaks_kept():
    html = render_body("Tom & Jerry <3\nsecond line\n\nnew paragraph")
    assert html == "<p>Tom &amp; Jerry &lt;3<br>second line</p><p>new paragraph</p>"


def test_windows_line_endings_are_normalised():
    assert render_body("a\r\nb") == "<p>a<br>b</p>"


def test_urls_are_linked_with_nofollow_ugc_noopener():
    html = render_body("See https://example.com/path?a=1&b=2.")
    assert html == (
        '<p>See <a href="https://example.com/path?a=1&amp;b=2" rel="nofollow ugc noopener">'
        "https://example.com/path?a=1&amp;b=2</a>.</p>"
    )


def test_www_addresses_get_https_and_brackets_balance():
    html = render_body("(www.example.org/a) and (https://en.wikipedia.org/wiki/Foo_(bar))")
    assert 'href="https://www.example.org/a"' in html
    assert 'href="https://en.wikipedia.org/wiki/Foo_(bar)"' in html
    assert html.count("</a>)") == 2


def test_other_schemes_are_not_linked():
    html = render_body("ftp://files.example mailto:me@example.com data:text/html,hi")
    assert "<a" not in html


def test_empty_text_renders_nothing():
    assert render_body("  \n\n ") == ""


def test_find_links_counts_each_address():
    assert find_links("a https://x.example b www.y.example c http:// d") == [
        "https://x.example",
        "www.y.example",
    ]


def test_blocked_words_match_whole_words_in_any_case():
    words = ["spam", "buy now"]
    assert find_blocked("Great SPAM offer", words) == ["spam"]
    assert find_blocked("Please BUY   NOW", words) == []  # phrases match as written
    assert find_blocked("buy now!", words) == ["buy now"]
    assert find_blocked("spammer and antispam", words) == []
