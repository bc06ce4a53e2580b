"""The body editor in a real browser: the "continue reading" divider has a toolbar button and
survives being opened and saved again, under the admin's Content-Security-Policy."""

import os

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from posts.models import Post
from tests.conftest import settle, watch_requests
from tests.factories import EditorFactory, PostFactory
from tests.security.test_browser_csp import RECORD_VIOLATIONS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Screenshots for a person to look at, when asked for: FF_SCREENSHOTS=<folder>.
SCREENSHOTS = os.environ.get("FF_SCREENSHOTS", "")


@pytest.fixture
def editor_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(RECORD_VIOLATIONS)
    client = Client()
    client.force_login(EditorFactory())
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    pending = watch_requests(page)
    yield page
    settle(page, pending)
    context.close()


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
    if SCREENSHOTS:
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            editor.scroll_into_view_if_needed()
            page.screenshot(path=f"{SCREENSHOTS}/editor-divider-{width}.png", full_page=True)

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
