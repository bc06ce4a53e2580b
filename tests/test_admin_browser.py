"""The admin as an editor sees it in Chromium, at phone and desktop widths: every change list
fits (a table wider than the screen scrolls in its own box, the page never does), and the post
list's titles read as lines, not one word per line.

Set FF_SCREENSHOTS to a folder to keep screenshots of the main admin pages."""

import pytest
from django.contrib import admin
from django.urls import reverse

from comments.models import Comment, CommentReport
from tests.browsing import screenshots_folder, shoot
from tests.factories import (
    CommentFactory,
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LONG_TITLES = [
    "What the night trams taught a city about the people who work while it sleeps",
    "Four bridges, one river and the long argument about who pays for them",
    "Short",
]


@pytest.fixture
def desk():
    editor = EditorFactory(display_name="Morgan")
    tag = TagFactory(name="Cities", slug="cities")
    posts = []
    for title in LONG_TITLES:
        post = PostFactory(title=title)
        post.authors.add(editor)
        post.tags.add(tag)
        posts.append(post)
    PollFactory(post=posts[0])
    reader = SubscriptionFactory(user__display_name="Ada").user
    CommentFactory(
        post=posts[0],
        author=reader,
        body="First time here: the night tram timetable link is broken, see the council site.",
        status=Comment.Status.HELD,
        held_reason="first comment",
    )
    reported = CommentFactory(post=posts[1], author=reader, body="Bridges are a scam.")
    CommentReport.objects.create(comment=reported, reporter=editor, reason="spam")
    return {"editor": editor, "posts": posts}


def _changelist_paths() -> list[str]:
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    )


def _widest(page) -> list[str]:
    """Name the elements that reach past the window's right edge (for a failing test)."""
    return page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' +"
        " e.className)"
    )


def _page_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [375, 1280])
def test_every_change_list_fits_the_screen(open_page, desk, width):
    page = open_page(desk["editor"], width=width)
    too_wide = {}
    for path in _changelist_paths():
        response = page.goto(path)
        assert response.status < 400, path
        shoot(page, f"list-{path.strip('/').replace('/', '-')}-{width}", full_page=False)
        overflow = _page_overflow(page)
        if overflow > 0:
            too_wide[path] = (overflow, _widest(page))
    assert too_wide == {}


@pytest.mark.parametrize("width", [375, 1280])
def test_post_titles_are_not_one_word_per_line(open_page, desk, width):
    page = open_page(desk["editor"], width=width)
    page.goto("/admin/posts/post/")
    cell = page.locator("#result_list tbody th", has_text=LONG_TITLES[0])
    lines = cell.evaluate(
        "el => { const a = el.querySelector('a'); const r = a.getClientRects();"
        " return new Set([...r].map(x => Math.round(x.top))).size; }"
    )
    words = len(LONG_TITLES[0].split())
    # 14 words: at desktop width two or three lines, on a phone a handful; never one a line.
    assert lines <= (3 if width == 1280 else 6), lines
    assert lines < words / 2


@pytest.mark.parametrize("width", [375, 1280])
def test_main_admin_pages_look_right(open_page, desk, width):
    """The index, the post list, a post's edit page and the moderation queue open without a
    horizontal page scroll, with the four sections and the queue's count in sight."""
    page = open_page(desk["editor"], width=width)
    pages = {
        "index": "/admin/",
        "posts": "/admin/posts/post/",
        "post-edit": reverse("admin:posts_post_change", args=[desk["posts"][0].pk]),
        "queue": "/admin/comments/comment/?queue=review",
        "notices": "/admin/notices/",
    }
    for name, path in pages.items():
        page.goto(path)
        shoot(page, f"admin-{name}-{width}")
        assert _page_overflow(page) <= 0, (name, _widest(page))
        if screenshots_folder() and name in {"index", "queue"}:
            page.emulate_media(color_scheme="dark")
            shoot(page, f"admin-{name}-{width}-dark")
            page.emulate_media(color_scheme="light")
    page.goto("/admin/")
    sections = page.locator("#content-main .ff-sections caption").all_inner_texts()
    assert [s.strip().lower() for s in sections] == ["write", "audience", "discussion", "settings"]
    assert page.locator("#content-main .ff-count").first.inner_text().startswith("2")
    if width == 375:
        # Django hides the sidebar on phones; the header's menu opens the same sections.
        page.goto("/admin/posts/post/")
        queue = page.locator(".ff-menu").get_by_role("link", name="Moderation queue")
        assert not queue.is_visible()
        page.locator(".ff-menu summary").click()
        assert queue.is_visible()
        shoot(page, f"admin-menu-{width}", full_page=False)
        queue.click()
        page.wait_for_url("**/admin/comments/comment/?queue=review")
