"""The body editor in a real browser: the "continue reading" divider has a toolbar button and
survives being opened and saved again, under the admin's Content-Security-Policy."""

import pytest
from playwright.sync_api import expect

from posts.models import Post
from tests.browsing import shoot
from tests.factories import PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_divider_is_kept_and_inserted_from_the_toolbar(editor_page):
    page = editor_page
    post = PostFactory(body='<p>The opening.</p><hr class="more"><p>The rest.</p>')
    page.goto(f"/admin/posts/post/{post.pk}/change/")
    editor = page.locator(".ProseMirror[contenteditable='true']").first
    expect(editor.locator("hr.more")).to_have_count(1)

    # A second divider from the toolbar, after the last paragraph.
    editor.get_by_text("The rest.").click()
    page.keyboard.press("End")
    page.get_by_role("button", name="continue reading divider").click()
    expect(editor.locator("hr.more")).to_have_count(2)
    shoot(page, "editor-divider", widths=(375, 1280))

    page.locator("input[name='_continue']").first.click()
    page.wait_for_load_state("load")
    expect(page.locator(".messagelist .success")).to_be_visible()
    post.refresh_from_db()
    assert post.body.count('<hr class="more">') == 2, post.body
    assert post.body.startswith('<p>The opening.</p><hr class="more"><p>The rest.</p>')
    assert Post.objects.get(pk=post.pk).body_opening == "<p>The opening.</p>"
    assert page.evaluate("window.__cspViolations") == []

    # Readers of the whole post do not see the divider.
    page.goto(post.get_absolute_url())
    expect(page.locator(".post-body").get_by_text("The rest.")).to_be_visible()
    expect(page.locator(".post-body hr.more").first).to_be_hidden()
