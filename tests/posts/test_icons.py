"""Icons are inline SVG drawn in the text's colour, not emoji that need an emoji font."""

import re

import pytest

from tests.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db

# Emoji and pictographs a system without an emoji font draws as empty boxes.
PICTOGRAPHS = re.compile("[\u2300-\u23ff\u2600-\u27bf\U0001f300-\U0001faff]")


def test_post_page_icons_are_svg(auth_client):
    post = PostFactory()
    CommentFactory(post=post)
    html = auth_client.get(post.get_absolute_url()).content.decode()
    assert not PICTOGRAPHS.findall(html), PICTOGRAPHS.findall(html)
    thumbs = re.search(r'<div id="thumbs-up".*?</div>', html, re.S).group(0)
    assert '<svg class="icon"' in thumbs
    assert re.search(r'class="like-[a-z]+"[^>]*>\s*<svg class="icon"', html)


def test_anonymous_post_page_has_no_emoji(client):
    post = PostFactory()
    CommentFactory(post=post)
    html = client.get(post.get_absolute_url()).content.decode()
    assert not PICTOGRAPHS.findall(html)
    assert '<svg class="icon"' in html
