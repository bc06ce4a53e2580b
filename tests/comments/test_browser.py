"""The whole discussion in a real browser: comment, reply, hold, approve, notify."""

import pytest
from playwright.sync_api import expect

from comments.models import Comment, Commenter, CommentReport
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_comment_reply_hold_approve_notify(open_page, live_server, page, mailoutbox):
    post = PostFactory(title="Cities after cars")
    ada = SubscriptionFactory(user__display_name="Ada").user
    Commenter.objects.create(user=ada, is_trusted=True)
    bruno = SubscriptionFactory(user__display_name="Bruno").user  # first comment: held
    editor = EditorFactory(display_name="Morgan")

    # Ada comments in place (htmx) and asks to hear about replies.
    ada_page = open_page(ada)
    ada_page.goto(post.get_absolute_url())
    ada_page.get_by_role("textbox", name="Your comment", exact=True).fill(
        "Bike lanes first, then everything else."
    )
    ada_page.get_by_label("Email me when someone replies to me").check()
    ada_page.get_by_role("button", name="Post comment").click()
    expect(ada_page.locator("#comments-status")).to_have_text("Your comment is posted.")
    expect(ada_page.locator(".comment-body").first).to_have_text(
        "Bike lanes first, then everything else."
    )
    expect(ada_page.get_by_role("textbox", name="Your comment", exact=True)).to_have_value("")
    ada_comment = Comment.objects.get(author=ada)

    # An empty comment is refused in place, with a message.
    ada_page.get_by_role("textbox", name="Your comment", exact=True).fill("   ")
    ada_page.get_by_role("button", name="Post comment").click()
    expect(ada_page.get_by_text("Write something before posting.")).to_be_visible()

    # Bruno replies; his first comment waits for review and only he sees it.
    bruno_page = open_page(bruno)
    bruno_page.goto(post.get_absolute_url())
    comment = bruno_page.locator(f"#comment-{ada_comment.pk}")
    comment.get_by_text("Reply", exact=True).click()
    comment.get_by_label("Your reply").fill("Buses matter more than bikes here.")
    comment.get_by_role("button", name="Post reply").click()
    reply_item = bruno_page.locator(f"#replies-{ada_comment.pk} .comment")
    expect(reply_item).to_contain_text("Buses matter more than bikes here.")
    expect(reply_item).to_contain_text("Awaiting review")
    reply = Comment.objects.get(author=bruno)
    assert reply.status == Comment.Status.HELD

    page.goto(post.get_absolute_url())  # an anonymous reader
    expect(page.get_by_text("Bike lanes first")).to_be_visible()
    expect(page.get_by_text("Buses matter more")).to_have_count(0)
    expect(page.locator("#comment-form")).to_contain_text(
        "Login or Subscribe to join the discussion"
    )
    assert mailoutbox == []

    # The editor opens the held queue in the admin and approves the reply. (Readers have no
    # password, so the site's login form asks for a code; the editor's session is injected.)
    editor_page = open_page(editor)
    editor_page.goto("/admin/comments/comment/?queue=held")
    row = editor_page.locator("#result_list tbody tr", has_text="Buses matter more")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("first comment")
    row.locator("input.action-select").check()
    editor_page.locator("select[name=action]").select_option("approve")
    editor_page.get_by_role("button", name="Go").click()
    expect(editor_page.locator(".messagelist")).to_contain_text("Approved 1.")

    # Everyone sees the reply now, and Ada got her email.
    page.reload()
    expect(page.get_by_text("Buses matter more than bikes here.")).to_be_visible()
    assert [m.to for m in mailoutbox] == [[ada.email]]
    assert "Bruno replied to your comment" in mailoutbox[0].subject
    assert "Buses matter more than bikes here." in mailoutbox[0].body

    # Ada likes the reply in place.
    ada_page.reload()
    like = ada_page.locator(f"#like-{reply.pk} button")
    like.click()
    expect(ada_page.locator(f"#like-{reply.pk} button")).to_have_attribute("aria-pressed", "true")
    expect(ada_page.locator(f"#like-{reply.pk} .like-count")).to_have_text("1")


def test_reply_and_report_load_in_place_and_work_without_javascript(open_page, live_server):
    post = PostFactory(title="Night buses")
    ada = SubscriptionFactory(user__display_name="Ada").user
    bruno = SubscriptionFactory(user__display_name="Bruno").user
    for user in (ada, bruno):
        Commenter.objects.create(user=user, is_trusted=True)
    ada_comment = Comment.objects.create(post=post, author=ada, body="Run them every 20 minutes.")

    page = open_page(bruno)
    page.goto(post.get_absolute_url())
    comment = page.locator(f"#comment-{ada_comment.pk}")
    # The page carries links, not forms: the reply form arrives on demand, focused.
    expect(comment.get_by_label("Your reply")).to_have_count(0)
    comment.get_by_role("link", name="Reply", exact=True).click()
    box = comment.get_by_label("Your reply")
    expect(box).to_be_focused()

    # A refusal comes back into the same form; Cancel closes it, the link takes the focus.
    box.fill("   ")
    comment.get_by_role("button", name="Post reply").click()
    expect(comment.get_by_text("Write something before posting.")).to_be_visible()
    comment.get_by_role("button", name="Cancel").click()
    expect(comment.get_by_label("Your reply")).to_have_count(0)
    expect(comment.get_by_role("link", name="Reply", exact=True)).to_be_focused()

    # A second click on Reply keeps what was typed instead of loading a fresh form.
    comment.get_by_role("link", name="Reply", exact=True).click()
    comment.get_by_label("Your reply").fill("And at weekends, please.")
    comment.get_by_role("link", name="Reply", exact=True).click()
    expect(comment.get_by_label("Your reply")).to_have_value("And at weekends, please.")
    comment.get_by_role("button", name="Post reply").click()
    expect(page.locator(f"#replies-{ada_comment.pk} .comment-body")).to_have_text(
        "And at weekends, please."
    )
    expect(comment.get_by_label("Your reply")).to_have_count(0)
    expect(page.locator("#comments-status")).to_have_text("Your comment is posted.")

    # Report, in place too.
    comment.get_by_role("link", name="Report", exact=True).click()
    expect(comment.get_by_label("Spam or advertising")).to_be_focused()
    comment.get_by_label("Off topic").check()
    comment.get_by_role("button", name="Send report").click()
    expect(comment.get_by_role("status")).to_have_text(
        "Thanks for the report. The editors will look at this comment."
    )
    assert page.url.endswith(post.get_absolute_url())  # never left the post page
    assert CommentReport.objects.get().reason == "off_topic"
    page.context.close()

    # Without JavaScript the same links open a page with the form, and posting comes back.
    page = open_page(bruno, java_script_enabled=False)
    page.goto(post.get_absolute_url())
    page.locator(f"#comment-{ada_comment.pk}").get_by_role("link", name="Reply").click()
    expect(page).to_have_url(f"{live_server.url}/comments/{ada_comment.pk}/reply/")
    expect(page.get_by_text("Run them every 20 minutes.")).to_be_visible()
    page.get_by_label("Your reply").fill("Posted the old way.")
    page.get_by_role("button", name="Post reply").click()
    reply = Comment.objects.get(body="Posted the old way.")
    assert page.url.endswith(f"/comments/{ada_comment.pk}/#comment-{reply.pk}")
    expect(page.locator(f"#comment-{reply.pk}")).to_contain_text("Posted the old way.")
