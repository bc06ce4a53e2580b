"""What a subscriber receives: the newsletter email's content, parts, links and headers."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.services import unsubscribe_token
from newsletter import rendering, services
from newsletter.models import NewsletterSend
from polls.models import Poll
from polls.services import read_vote_token
from posts.models import Post
from posts.richtext import html_to_text
from tests.factories import PollFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

FULL = NewsletterSend.Mode.FULL
TEASER = NewsletterSend.Mode.TEASER


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "#0b4f6c").save(buffer, "PNG")
    return SimpleUploadedFile("cover.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def post(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    author = UserFactory(display_name="Morgan Reyes", is_staff=True)
    post = PostFactory(
        title="Cities After Cars",
        subtitle="What happens to the parking",
        body=(
            '<h2>The street</h2><p>Read <a href="/p/older-post/">the older post</a> and '
            '<a href="https://example.org/report">the report</a>.</p>'
            '<script>alert(1)</script><p onclick="x()">Second paragraph.</p>'
        ),
        daily_takeaway="Parking is the hidden subsidy.",
        cover=png(),
        cover_alt="A street without cars",
    )
    post.authors.add(author)
    return post


def message_for(post, user, mode=FULL, teaser_words=150):
    rendered = rendering.render_newsletter(post=post, mode=mode, teaser_words=teaser_words)
    return rendering.personalise(rendered, user=user)


def html_of(message) -> str:
    return message.alternatives[0][0]


def test_html_email_has_every_part_with_absolute_links(post):
    reader = UserFactory()
    message = message_for(post, reader)
    html = html_of(message)
    assert message.subject == "Cities After Cars"
    assert message.to == [reader.email]
    for text in (
        "Cities After Cars",
        "What happens to the parking",
        "By Morgan Reyes",
        "The street",
        "Second paragraph.",
        "Daily Takeaway",
        "Parking is the hidden subsidy.",
        "View in browser",
        "Share this post",
        "Unsubscribe",
    ):
        assert text in html
    assert f'src="http://testserver{post.cover.url}"' in html
    assert 'alt="A street without cars"' in html
    assert 'href="http://testserver/p/older-post/"' in html
    assert f'href="http://testserver/p/{post.slug}/"' in html
    assert "<script" not in html and "onclick" not in html and "alert(1)" not in html
    links = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert links
    assert all(link.startswith(("http://testserver/", "https://", "mailto:")) for link in links)
    share = [link for link in links if link.startswith("https://")]
    assert any("x.com/intent" in link for link in share)
    assert any("linkedin.com" in link for link in share)


def test_html_is_inlined_at_most_600px_wide_and_readable_in_dark_mode(post):
    html = html_of(message_for(post, UserFactory()))
    assert "max-width:600px" in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "<link" not in html
    # The post body's own elements carry their styles inline.
    assert re.search(r'<p style="[^"]*line-height', html)
    assert re.search(r'<h2 style="[^"]*font-family', html)


def test_plain_text_part_is_readable(post):
    message = message_for(post, UserFactory())
    text = message.body
    assert "CITIES AFTER CARS" in text
    assert "the older post (http://testserver/p/older-post/)" in text
    assert "DAILY TAKEAWAY" in text
    assert "Parking is the hidden subsidy." in text
    assert "<" not in text.replace("<http", "")
    assert all(len(line) <= 76 or "http" in line for line in text.splitlines())


def test_each_reader_gets_their_own_unsubscribe_link_and_list_headers(post):
    ada, bo = UserFactory(), UserFactory()
    rendered = rendering.render_newsletter(post=post, mode=FULL, teaser_words=150)
    for reader in (ada, bo):
        message = rendering.personalise(rendered, user=reader)
        url = f"http://testserver/unsubscribe/{unsubscribe_token(reader.pk)}/"
        assert message.extra_headers["List-Unsubscribe"] == f"<{url}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.extra_headers["List-Id"].endswith("<newsletter.testserver>")
        assert url in html_of(message)
        assert url in message.body
        assert "%%FF:" not in html_of(message) + message.body


def test_mailto_unsubscribe_is_added_when_configured(post, settings):
    settings.NEWSLETTER_UNSUBSCRIBE_MAILTO = "leave@futureforward.example"
    message = message_for(post, UserFactory())
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http://testserver/unsubscribe/")
    assert header.endswith(", <mailto:leave@futureforward.example?subject=unsubscribe>")


def test_long_paragraphs_keep_the_message_8bit(post):
    post.body = "<p>" + "A sentence with “curly quotes” that goes on. " * 120 + "</p>"
    raw = message_for(post, UserFactory()).message().as_bytes()
    assert b"quoted-printable" not in raw
    assert all(len(line) <= 998 for line in raw.split(b"\n"))


def test_teaser_stops_at_the_more_marker_with_a_continue_button(post):
    # Typed in the editor, the marker is text in a paragraph of its own; saving makes it the
    # divider, which the teaser cuts at.
    post.body = "<p>The opening.</p><p>&lt;!-- more --&gt;</p><p>The rest, for the site.</p>"
    post.save()
    post.refresh_from_db()
    assert '<hr class="more">' in post.body
    message = message_for(post, UserFactory(), mode=TEASER)
    html = html_of(message)
    assert "The opening." in html
    assert "The rest, for the site." not in html
    assert "Continue reading" in html
    assert "Continue reading" in message.body
    assert "Daily Takeaway" not in html
    assert "The rest, for the site." not in message.body


def test_full_email_shows_no_trace_of_the_divider(post):
    post.body = "<p>The opening.</p><!--more--><p>The rest.</p>"
    post.save()
    message = message_for(post, UserFactory(), mode=FULL)
    html = html_of(message)
    assert "The opening." in html and "The rest." in html
    assert "<hr" not in html
    assert "----" not in message.body


def test_teaser_without_a_marker_keeps_the_first_words(post):
    post.body = "<p>" + " ".join(f"word{index}" for index in range(300)) + "</p>"
    html = html_of(message_for(post, UserFactory(), mode=TEASER, teaser_words=40))
    assert "word39" in html
    assert "word40" not in html
    assert "Continue reading" in html


def test_short_post_in_teaser_mode_goes_out_whole(post):
    post.body = "<p>Just a few words.</p>"
    html = html_of(message_for(post, UserFactory(), mode=TEASER))
    assert "Just a few words." in html
    assert "Continue reading" not in html


def test_subscriber_only_post_is_sent_in_full_even_as_a_teaser(post):
    post.audience = Post.Audience.SUBSCRIBERS
    post.body = "<p>The opening.</p><!--more--><p>The members' part.</p>"
    post.save()
    html = html_of(message_for(post, UserFactory(), mode=TEASER))
    assert "The members' part." in html
    assert "Continue reading" not in html
    assert "Parking is the hidden subsidy." in html


def test_poll_gets_one_signed_vote_link_per_choice_per_reader(post):
    poll = PollFactory(
        post=post, question="Would you give up your car?", choices=["Yes", "Not yet"]
    )
    choices = list(poll.choices.order_by("position"))
    ada, bo = UserFactory(), UserFactory()
    rendered = rendering.render_newsletter(post=post, mode=FULL, teaser_words=150)
    for reader in (ada, bo):
        message = rendering.personalise(rendered, user=reader)
        html = html_of(message)
        assert "Would you give up your car?" in html
        assert "Not yet" in html and "Not yet" in message.body
        tokens = re.findall(r"http://testserver/polls/email/([^/\s\"]+)/", html)
        assert len(tokens) == len(choices)
        for token, choice in zip(tokens, choices, strict=True):
            vote = read_vote_token(token)
            assert (vote.poll_id, vote.choice_id, vote.user_id) == (poll.pk, choice.pk, reader.pk)
            assert f"/polls/email/{token}/" in message.body


def test_no_poll_block_when_the_post_has_no_poll(post):
    html = html_of(message_for(post, UserFactory()))
    assert "Reader poll" not in html


def test_test_email_goes_to_the_editor_marked_as_a_test(post, editor, mailoutbox):
    services.send_test_email(post=post, to_user=editor, mode=FULL, teaser_words=150)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [editor.email]
    assert mailoutbox[0].subject == "[Test] Cities After Cars"
    assert NewsletterSend.objects.count() == 0


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<ul><li>One</li><li>Two</li></ul>", "- One\n- Two"),
        ("<blockquote><p>Quoted words</p></blockquote>", "> Quoted words"),
        ("<p>A &amp; B</p>", "A & B"),
        ('<p><a href="mailto:x@example.org">write</a></p>', "write"),
    ],
)
def test_html_to_text(html, expected):
    assert expected in html_to_text(html, marks=True)


# --- One palette: the emails take the site's colours from its stylesheet ---


def site_css() -> str:
    return Path(finders.find("css/site.css")).read_text()


def test_email_uses_the_accent_colour_of_the_site_stylesheet(post):
    root = re.search(r":root\s*\{([^}]*)\}", site_css()).group(1)
    accent = re.search(r"--accent:\s*([^;]+);", root).group(1).strip()
    dark_root = re.search(r"prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{([^}]*)\}", site_css())
    dark_accent = re.search(r"--accent:\s*([^;]+);", dark_root.group(1)).group(1).strip()
    html = html_of(message_for(post, UserFactory(), mode=TEASER, teaser_words=3))
    assert f"background:{accent}" in html  # the "Continue reading" button
    assert f"color:{accent};text-decoration:underline" in html  # links in the body
    assert f".ff-card a {{ color: {dark_accent} !important; }}" in html  # dark mode


def test_email_templates_write_no_colour_of_their_own():
    for path in Path(settings.BASE_DIR, "templates", "newsletter", "email").glob("*.html"):
        assert not re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b(?!;)", path.read_text()), path


def test_palette_reads_light_and_dark_custom_properties():
    found = rendering.parse_palette(
        ":root { --ink: #111; --accent: #222; --radius: 8px; }\n"
        "@media (prefers-color-scheme: dark) { :root { --accent: #333; } }"
    )
    assert found.light == {"ink": "#111", "accent": "#222", "radius": "8px"}
    assert found.dark == {"ink": "#111", "accent": "#333", "radius": "8px"}


@pytest.mark.parametrize("placement", [Poll.Placement.AFTER_BODY, Poll.Placement.END])
def test_the_poll_sits_where_the_post_page_puts_it(post, client, placement):
    post.body = "<p>The article's last words.</p>"
    post.save()
    poll = PollFactory(post=post, question="Would you give up your car?", placement=placement)
    landmarks = ["The article's last words.", "Would you give up your car?", "hidden subsidy"]

    def order(text: str) -> list[str]:
        found = {landmark: text.find(landmark) for landmark in landmarks}
        assert all(index >= 0 for index in found.values()), found
        return sorted(landmarks, key=found.get)

    page = order(client.get(post.get_absolute_url()).content.decode())
    message = message_for(post, UserFactory())
    expected = {
        Poll.Placement.AFTER_BODY: landmarks,
        Poll.Placement.END: [landmarks[0], landmarks[2], landmarks[1]],
    }[placement]
    assert page == expected
    assert order(html_of(message)) == page
    assert order(message.body) == page
    # Wherever it sits, each choice is still the reader's own signed link.
    tokens = re.findall(r"http://testserver/polls/email/([^/\s\"]+)/", message.body)
    assert len(tokens) == poll.choices.count()


def test_the_byline_of_a_post_without_authors_starts_with_its_date():
    post = PostFactory()
    body = message_for(post, UserFactory()).body
    date = post.published_at.strftime("%-d %B %Y")
    assert f"\n{date}\n" in body
    assert " · " + date not in body
