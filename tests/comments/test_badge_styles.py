"""The comment badges read as badges in a real browser (site.css order does not undo them)."""

import pytest

from comments.models import Comment
from tests.factories import CommentFactory, EditorFactory, PostFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_editor_badge_text_shows_and_held_badge_keeps_its_dashed_border(open_page):
    post = PostFactory(title="Harbours")
    CommentFactory(post=post, author=EditorFactory(display_name="Morgan"), body="From the desk.")
    reader = SubscriptionFactory(user__display_name="Ada").user
    CommentFactory(post=post, author=reader, body="My first word.", status=Comment.Status.HELD)

    page = open_page(reader)
    page.goto(post.get_absolute_url())
    editor = page.locator(".badge-editor")
    assert editor.inner_text() == "Editor"
    colour, background = editor.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )
    assert colour != background
    held = page.locator(".badge-held")
    assert held.inner_text() == "Awaiting review"
    assert held.evaluate("el => getComputedStyle(el).borderTopStyle") == "dashed"
