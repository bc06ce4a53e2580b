"""axe-core finds no serious or critical accessibility violation on the reader's main pages, in
light and dark schemes, at phone and desktop widths."""

from pathlib import Path

import pytest

from tests.conftest import code_from_mail
from tests.factories import (
    CommentFactory,
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SERIOUS = "r => r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
REPORT = ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"


def violations(page) -> list[str]:
    # The page's Content-Security-Policy would refuse the injected script; the context
    # bypasses it for the checker only (tests/security checks the policy itself).
    page.add_script_tag(path=str(AXE))
    return page.evaluate(f"axe.run().then({SERIOUS}).then(v => v{REPORT})")


@pytest.fixture
def site():
    author = EditorFactory(display_name="Morgan", bio="Writes about cities and work.")
    tag = TagFactory(name="Cities", slug="cities")
    post = PostFactory(title="Trams after dark", slug="trams")
    post.authors.add(author)
    post.tags.add(tag)
    PollFactory(post=post)
    reader = SubscriptionFactory(user__display_name="Ada").user
    CommentFactory(post=post, author=reader, body="Night trams changed my commute.")
    return {"post": post, "author": author, "tag": tag, "reader": reader}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_main_pages_have_no_serious_violations(open_page, site, mailoutbox, scheme, width):
    def open_as(user=None):
        return open_page(user, width=width, color_scheme=scheme, bypass_csp=True)

    post = site["post"]
    found = {}
    page = open_as()
    for path in [
        "/",
        post.get_absolute_url(),
        "/subscribe/",
        "/accounts/login/code/",
        "/search/?q=trams",
        "/archive/",
        f"/tag/{site['tag'].slug}/",
        f"/author/{site['author'].pk}/",
        "/about/",
        "/no-such-page/",
    ]:
        page.goto(path)
        found[path] = violations(page)
    # The preference centre an email's "Manage your subscription" link opens, and the page its
    # unsubscribe link opens (several newsletters to choose from).
    from newsletter.links import leave_token, manage_token
    from newsletter.models import Newsletter

    digest = Newsletter.objects.create(name="Climate digest", slug="climate", is_default=False)
    for path in [
        f"/newsletter/manage/{manage_token(site['reader'].pk)}/",
        f"/newsletter/leave/{leave_token(site['reader'].pk, digest.pk)}/",
    ]:
        page.goto(path)
        found[path] = violations(page)
    # The code page: after asking for a code.
    page.goto("/accounts/login/code/")
    page.get_by_label("Email address").fill(site["reader"].email)
    page.get_by_role("button", name="Email me a code").click()
    page.wait_for_url("**/confirm/")
    assert code_from_mail(mailoutbox[-1])
    found["code"] = violations(page)
    page.context.close()

    page = open_as(site["reader"])
    for path in [post.get_absolute_url(), "/account/"]:
        page.goto(path)
        found[f"{path} (logged in)"] = violations(page)

    assert {path: v for path, v in found.items() if v} == {}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_admin_pages_have_no_serious_violations(open_page, site, scheme, width):
    """The editor's main admin pages: the index, the post list, the moderation queue, the
    email choices, and a post's edit page with its body editor, date boxes, author and tag
    choosers and poll."""
    from comments.models import Comment

    CommentFactory(
        post=site["post"], author=site["reader"], status=Comment.Status.HELD, body="Held."
    )
    page = open_page(
        site["author"],
        width=width,
        color_scheme=scheme,
        reduced_motion="reduce",  # no fading toolbar buttons measured halfway
        bypass_csp=True,
    )
    found = {}
    for path in [
        "/admin/",
        "/admin/posts/post/",
        "/admin/comments/comment/?queue=review",
        "/admin/notices/",
        "/admin/export/",
        f"/admin/posts/post/{site['post'].pk}/change/",
        "/admin/posts/post/add/",
    ]:
        page.goto(path)
        if "/posts/post/" in path and path.endswith(("/change/", "/add/")):
            # The body editor is built, its toolbar too.
            page.locator(".ProseMirror").first.wait_for(state="attached")
        found[path] = violations(page)
    if width == 375:
        page.goto("/admin/posts/post/")
        page.locator(".ff-menu summary").click()
        found["the phone menu, open"] = violations(page)
    assert {path: v for path, v in found.items() if v} == {}
