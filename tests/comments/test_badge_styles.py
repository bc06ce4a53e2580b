"""The comment badges read as badges in a real browser (site.css order does not undo them)."""

import pytest
from django.test import Client

from comments.models import Comment
from tests.factories import CommentFactory, EditorFactory, PostFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_editor_badge_text_shows_and_held_badge_keeps_its_dashed_border(browser, live_server):
    post = PostFactory(title="Harbours")
    CommentFactory(post=post, author=EditorFactory(display_name="Morgan"), body="From the desk.")
    reader = SubscriptionFactory(user__display_name="Ada").user
    CommentFactory(post=post, author=reader, body="My first word.", status=Comment.Status.HELD)

    client = Client()
    client.force_login(reader)
    context = browser.new_context(base_url=live_server.url)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
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
    context.close()
