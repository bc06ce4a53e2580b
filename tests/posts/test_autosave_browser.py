"""Nothing an editor types is lost, in a real browser: autosave keeps the words while typing,
a reload finds them intact, Save applies them, and an earlier revision comes back. The web
preview frames the reader page at both widths. All under the admin's strict policy."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from posts.models import Post, PostDraft
from tests.browsing import screenshots_folder, shoot
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_autosave_survives_a_reload_and_a_revision_is_restored(watch):
    editor = EditorFactory(display_name="Ada Writer")
    post = PostFactory(title="Tidal power", body="<p>The first version.</p>")
    SubscriptionFactory()
    # An editor half a world from the server (UTC) sees the save's time on their own clock.
    watcher = watch(editor, timezone_id="Asia/Kolkata")
    page = watcher.page
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher.visit(f"/admin/posts/post/{post.pk}/change/")

    body = page.locator(".ProseMirror[contenteditable='true']").first
    body.get_by_text("The first version.").click()
    page.keyboard.press("End")
    page.keyboard.type(" Typed in the browser.")
    status = page.locator("#ff-autosave")
    expect(status).to_have_text(re.compile(r"^Saved \d\d:\d\d$"), timeout=15_000)
    shown = status.inner_text().removeprefix("Saved ")
    draft = PostDraft.objects.get(post=post)
    assert "Typed in the browser." in draft.body
    kolkata = draft.saved_at.astimezone(ZoneInfo("Asia/Kolkata"))
    # The save shown is the draft's last one, or one just before it (a minute earlier at most).
    assert shown in {f"{kolkata:%H:%M}", f"{kolkata - timedelta(minutes=1):%H:%M}"}
    assert Post.objects.get(pk=post.pk).body == "<p>The first version.</p>"

    # A reload (or a crash) finds the words intact, marked as not saved yet.
    page.reload()
    page.wait_for_load_state("load")
    expect(page.get_by_text("This form shows your autosaved draft")).to_be_visible()
    expect(body).to_contain_text("The first version. Typed in the browser.")
    shoot(page, "draft-note-1280", full_page=False)

    # Save applies them: version 2, the draft is gone.
    page.locator("input[name='_continue']").first.click()
    page.wait_for_load_state("load")
    expect(page.locator(".messagelist .success")).to_be_visible()
    saved = Post.objects.get(pk=post.pk)
    assert saved.version == 2 and "Typed in the browser." in saved.body
    assert not PostDraft.objects.exists()
    shoot(page, "publish-panel", widths=(1280,))
    if screenshots_folder():
        page.locator(".ff-publish-panel").first.scroll_into_view_if_needed()
        shoot(page, "publish-panel", widths=(375,))

    # The revisions: compare the two versions, then restore the first.
    page.get_by_role("link", name="Revisions").click()
    shoot(page, "revisions", widths=(1280,))
    page.get_by_role("button", name="Compare the chosen versions").click()
    page.wait_for_load_state("load")
    expect(page.locator("ins").filter(has_text="Typed in the browser.")).to_be_visible()
    shoot(page, "revision-compare", widths=(1280,))
    shoot(page, "revision-compare", widths=(375,))
    page.get_by_role("button", name="Restore version 1").click()
    page.wait_for_load_state("load")
    expect(page.locator(".messagelist .success")).to_contain_text(
        "Version 1 is restored as version 3."
    )
    expect(body).to_have_text("The first version.")
    assert Post.objects.get(pk=post.pk).body == "<p>The first version.</p>"
    watcher.assert_clean("autosave, reload, restore")


def test_leaving_the_page_keeps_the_last_words(watch):
    editor = EditorFactory()
    post = PostFactory(title="Quick exit", body="<p>Before.</p>")
    watcher = watch(editor)
    page = watcher.page
    watcher.visit(f"/admin/posts/post/{post.pk}/change/")
    page.locator("#id_subtitle").fill("Typed just before leaving")
    # Away at once, before the few seconds' pause: the page hands the words over as it goes.
    watcher.visit("/admin/")
    page.wait_for_timeout(500)
    assert PostDraft.objects.get(post=post).subtitle == "Typed just before leaving"


def test_web_preview_frames_the_autosaved_page_at_both_widths(watch):
    editor = EditorFactory()
    post = PostFactory(
        status=Post.Status.DRAFT,
        published_at=None,
        title="Cities after cars",
        body="<p>Trams are back.</p>",
    )
    PostDraft.objects.create(
        post=post,
        editor=editor,
        base_version=1,
        title="Cities after cars, revised",
        body="<p>Trams are back, and buses too.</p>",
    )
    watcher = watch(editor)
    page = watcher.page
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher.visit(f"/admin/posts/post/{post.pk}/change/")
    page.get_by_role("link", name="Preview web page").click()
    page.wait_for_load_state("load")

    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Cities after cars, revised")).to_be_visible()
    expect(frame.get_by_text("buses too")).to_be_visible()
    # The framed page lays itself out at 1280 px (shown scaled down to fit the admin).
    assert frame.locator("html").evaluate("() => window.innerWidth") in range(1270, 1281)
    shoot(page, "preview", widths=(1280,))
    shoot(page, "preview-1280-frame", full_page=False)

    page.get_by_role("link", name="Phone (375 px)").click()
    page.wait_for_load_state("load")
    expect(frame.get_by_role("heading", name="Cities after cars, revised")).to_be_visible()
    assert 370 <= page.locator("iframe").bounding_box()["width"] <= 379
    assert frame.locator("html").evaluate("() => window.innerWidth") in range(365, 376)
    frame_scroll = frame.locator("html").evaluate("(el) => el.scrollWidth")
    assert frame_scroll <= 377  # the reader page fits a phone: no sideways scrolling
    shoot(page, "preview", widths=(375,))

    page.get_by_role("link", name="The saved post").click()
    page.wait_for_load_state("load")
    expect(frame.get_by_role("heading", name="Cities after cars", exact=True)).to_be_visible()
    watcher.assert_clean("web preview")


def test_autosave_says_when_it_could_not_save_and_retries(watch):
    editor = EditorFactory()
    post = PostFactory(title="Patchy network", body="<p>Start.</p>")
    watcher = watch(editor)
    page = watcher.page
    watcher.visit(f"/admin/posts/post/{post.pk}/change/")
    # The network drops: autosave's requests fail.
    page.route("**/autosave/", lambda route: route.abort())
    page.locator("#id_subtitle").fill("Written offline")
    status = page.locator("#ff-autosave")
    expect(status).to_have_text("Not saved – retrying", timeout=10_000)
    assert not PostDraft.objects.exists()
    # Back online: the next try keeps the words.
    page.unroute("**/autosave/")
    expect(status).to_have_text(re.compile(r"^Saved \d\d:\d\d$"), timeout=20_000)
    assert PostDraft.objects.get(post=post).subtitle == "Written offline"
