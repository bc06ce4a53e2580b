"""The Content-Security-Policy in a real browser: every main page loads without a single
violation, htmx still updates in place, the admin's rich-text editor still starts, and no page
asks another host for anything."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from accounts.services import unsubscribe_token
from comments.models import Comment
from polls.models import Vote
from polls.services import vote_url
from tests.factories import (
    CommentFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
)
from tests.security.conftest import make_staff_editor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def story():
    """A published post with a tag, a poll and a discussion."""
    tag = TagFactory(name="Cities", slug="cities")
    post = PostFactory(title="Cities after cars", slug="cities-after-cars", body="<p>Trams.</p>")
    post.tags.add(tag)
    poll = PollFactory(post=post, question="Would you give up your car?")
    author = SubscriptionFactory(user__display_name="Ada").user
    comment = CommentFactory(post=post, author=author, body="Bike lanes first.")
    return {"post": post, "poll": poll, "comment": comment, "tag": tag}


def test_public_pages_load_without_violations_or_foreign_requests(watch, story):
    watcher = watch()
    post = story["post"]
    for path in [
        "/",
        post.get_absolute_url(),
        "/search/?q=cities",
        f"/tag/{story['tag'].slug}/",
        "/archive/",
        "/subscribe/",
        "/accounts/login/code/",
        "/accounts/login/",
    ]:
        response = watcher.visit(path)
        policy = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        watcher.assert_clean(path)
    watcher.close()


def test_reader_pages_and_htmx_interactions_work_under_the_policy(watch, story):
    reader = SubscriptionFactory(user__display_name="Bruno").user
    watcher = watch(reader)
    page = watcher.page
    post, poll, comment = story["post"], story["poll"], story["comment"]

    watcher.visit(post.get_absolute_url())
    # A vote, in place.
    section = page.locator(f"#poll-{poll.pk}")
    section.get_by_label("Hopeful").check()
    section.get_by_role("button", name="Vote").click()
    expect(section).to_contain_text("Thanks, your vote is counted.")
    assert Vote.objects.filter(poll=poll, user=reader).exists()
    # A like, in place.
    like = page.locator(f"#like-{comment.pk}")
    like.get_by_role("button").click()
    expect(page.locator(f"#like-{comment.pk} .like-count")).to_have_text("1")
    # A comment, in place.
    page.get_by_role("textbox", name="Your comment", exact=True).fill("Trams, then bikes.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments-status")).to_contain_text("Your comment is")
    assert Comment.objects.filter(author=reader, body="Trams, then bikes.").exists()
    # A thumbs up, in place.
    page.get_by_role("button", name="Thumbs up").click()
    expect(page.locator("#thumbs-up .thumbs-number")).to_have_text("1")
    assert page.url.endswith(post.get_absolute_url())  # htmx: no navigation happened
    watcher.assert_clean("post page with htmx")

    for path in [
        "/account/",
        f"/p/{post.slug}/comments/{comment.pk}/",
        f"/comments/{comment.pk}/report/",
        "/accounts/email/",
        "/accounts/logout/",
        f"/unsubscribe/{unsubscribe_token(reader.pk)}/",
    ]:
        watcher.visit(path)
        watcher.assert_clean(path)
    watcher.close()


def test_email_vote_link_confirms_itself_under_the_policy(watch, story):
    """The page an email's vote link opens posts the vote by itself, from our own script."""
    reader = SubscriptionFactory().user
    poll = story["poll"]
    link = vote_url(poll_id=poll.pk, choice_id=poll.choices.last().pk, user_id=reader.pk)
    watcher = watch()
    watcher.visit(urlsplit(link).path)
    expect(watcher.page.locator(f"#poll-{poll.pk}")).to_contain_text("your vote is counted")
    assert Vote.objects.filter(poll=poll, user=reader).exists()
    watcher.assert_clean("email vote")
    watcher.close()


def test_admin_post_editor_and_two_factor_pages_run_under_the_policy(watch, story):
    editor = make_staff_editor(display_name="Morgan")
    watcher = watch(editor)
    page = watcher.page
    post = story["post"]

    response = watcher.visit(f"/admin/posts/post/{post.pk}/change/")
    # The rich-text editor's import map runs only with the response's nonce.
    policy = response.headers["content-security-policy"]
    # Browsers hide the nonce attribute from the DOM once parsed; the property keeps it.
    nonce = page.locator('script[type="importmap"]').evaluate("(script) => script.nonce")
    assert nonce and f"'nonce-{nonce}'" in policy
    editor_area = page.locator(".ProseMirror[contenteditable='true']").first
    expect(editor_area).to_be_visible()
    expect(editor_area).to_contain_text("Trams.")
    watcher.assert_clean("admin post change form")

    for path in [
        "/admin/",
        "/admin/posts/post/",
        "/admin/posts/post/add/",
        f"/admin/polls/poll/{story['poll'].pk}/change/",
        f"/admin/polls/poll/{story['poll'].pk}/results/",
        "/admin/comments/comment/",
        f"/admin/comments/comment/{story['comment'].pk}/change/",
        "/admin/accounts/subscription/",
        f"/admin/posts/post/{post.pk}/newsletter/test/",
        "/account/",
    ]:
        watcher.visit(path)
        watcher.assert_clean(path)
    expect(page.get_by_role("link", name="Manage two-factor authentication")).to_be_visible()
    page.get_by_role("link", name="Manage two-factor authentication").click()
    page.wait_for_load_state("load")
    watcher.assert_clean("two-factor pages")
    watcher.close()
