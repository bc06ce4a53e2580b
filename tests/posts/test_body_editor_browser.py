"""The body editor's images and blocks in a real browser, under the admin's
Content-Security-Policy: upload from the toolbar, paste and drop an image, alt text required,
captions, a button, a callout, the poll's place; a bad file's message; and the post page."""

import base64
import io
import re

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from posts.models import BodyImage, Post
from posts.services import store_body_image
from tests.browsing import screenshots_folder, shoot
from tests.factories import PollFactory, PostFactory
from tests.posts.pictures import jpeg_bytes, png_bytes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


# The body's editor (its toolbar's menus have ProseMirror-styled previews too).
BODY_EDITOR = ".prose-editor:has(#id_body) .ProseMirror[contenteditable='true']"
# Paste or drop a file the way a browser hands one to the page: in a DataTransfer.
HAND_OVER_FILE = """
({ data, name, type, how }) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
  const transfer = new DataTransfer()
  transfer.items.add(new File([bytes], name, { type }))
  const target = document.querySelector(`%BODY_EDITOR%`)
  const box = target.getBoundingClientRect()
  const event =
    how === "paste"
      ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
      : new DragEvent("drop", {
          dataTransfer: transfer, bubbles: true, cancelable: true,
          clientX: box.left + 20, clientY: box.bottom - 10,
        })
  target.dispatchEvent(event)
}
""".replace("%BODY_EDITOR%", BODY_EDITOR)

PASTE_HTML = """
(html) => {
  const transfer = new DataTransfer()
  transfer.setData("text/html", html)
  transfer.setData("text/plain", "pasted")
  document.querySelector(`%BODY_EDITOR%`).dispatchEvent(
    new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
  )
}
""".replace("%BODY_EDITOR%", BODY_EDITOR)


def street_jpeg(size=(1600, 900), sky=(120, 170, 215), ground=(70, 110, 80)) -> bytes:
    """A picture with something in it (sky, sun, hills, houses), so screenshots show images."""
    width, height = size
    image = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(image)
    for y in range(height // 2):  # the sky lightens towards the horizon
        shade = tuple(min(255, c + y * 90 // height) for c in sky)
        draw.line([(0, y), (width, y)], fill=shade)
    draw.ellipse([width * 0.72, height * 0.1, width * 0.84, height * 0.1 + width * 0.12],
                 fill=(250, 210, 110))  # fmt: skip
    draw.polygon([(0, height * 0.62), (width * 0.35, height * 0.42), (width * 0.7, height * 0.6),
                  (width, height * 0.48), (width, height), (0, height)], fill=ground)  # fmt: skip
    for i, colour in enumerate([(200, 90, 60), (230, 190, 120), (90, 120, 170), (240, 240, 230)]):
        left = width * (0.08 + i * 0.12)
        top = height * (0.55 - 0.04 * (i % 2))
        draw.rectangle([left, top, left + width * 0.1, height * 0.85], fill=colour)
        draw.polygon([(left - 10, top), (left + width * 0.05, top - height * 0.08),
                      (left + width * 0.1 + 10, top)], fill=(120, 60, 50))  # fmt: skip
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def hand_over(page, content: bytes, name: str, type_: str, how: str) -> None:
    page.evaluate(
        HAND_OVER_FILE,
        {"data": base64.b64encode(content).decode(), "name": name, "type": type_, "how": how},
    )


def describe(page, alt: str, caption: str = "") -> None:
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=alt]").fill(alt)
    dialog.locator("input[name=caption]").fill(caption)
    dialog.get_by_role("button", name="Save image").click()
    expect(page.locator("dialog[open]")).to_have_count(0)


def toolbar(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def test_an_editor_writes_a_post_with_images_a_button_a_callout_and_the_poll(editor_page):
    page = editor_page
    post = PostFactory(
        title="Taking back the square",
        subtitle="A market, a bus stop and forty parking spaces",
        body="<p>The opening words. Every Saturday the square fills with stalls; on every other "
        "day it holds forty parked cars and a bus stop nobody can find.</p>"
        "<p>The closing words.</p>",
    )
    PollFactory(post=post, question="Should the square go car-free?")
    page.goto(f"/admin/posts/post/{post.pk}/change/")
    editor = page.locator(BODY_EDITOR)
    editor.get_by_text("The opening words.").click()
    page.keyboard.press("End")

    # From the toolbar: the dialog will not take an image without alt text.
    with page.expect_file_chooser() as chooser:
        toolbar(page, "image (or paste or drop one)").click()
    chooser.value.set_files(
        files=[{"name": "square.jpg", "mimeType": "image/jpeg", "buffer": street_jpeg()}]
    )
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("input[name=alt]")).to_be_visible()
    dialog.get_by_role("button", name="Save image").click()
    expect(dialog.locator("input[name=alt]")).to_be_visible()  # refused: still asking
    assert dialog.locator("input[name=alt]").evaluate("input => !input.validity.valid")
    describe(page, "The square on market day", "Saturday, before the change")
    expect(editor.locator("figure img")).to_have_count(1)
    expect(editor.locator("figcaption")).to_have_text("Saturday, before the change")

    # Pasted: a screenshot from the clipboard is uploaded like a chosen file.
    hand_over(
        page,
        street_jpeg((1200, 800), sky=(250, 190, 150), ground=(150, 120, 90)),
        "clipboard.jpg",
        "image/jpeg",
        "paste",
    )
    describe(page, "A map of the square")
    expect(editor.locator("figure img")).to_have_count(2)

    # The button, the callout and the poll's place.
    editor.get_by_text("The closing words.").click()
    toolbar(page, "button").click()
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=label]").fill("Join the walk")
    dialog.locator("input[name=href]").fill("javascript:alert(1)")
    dialog.get_by_role("button", name="Save button").click()
    expect(page.locator(".ff-editor-notice")).to_contain_text("https://, http:// or mailto:")
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=href]").fill("https://example.org/walk")
    dialog.get_by_role("button", name="Save button").click()
    expect(editor.locator("p.cta a.button")).to_have_text("Join the walk")
    editor.get_by_text("The closing words.").click()
    toolbar(page, "callout (a highlighted box)").click()
    expect(editor.locator("div.callout")).to_contain_text("The closing words.")
    editor.get_by_text("The opening words.").click()
    page.keyboard.press("End")
    toolbar(page, "the poll's place (one per post)").click()
    expect(editor.locator("div.poll-slot")).to_have_count(1)
    expect(toolbar(page, "the poll's place (one per post)")).to_have_class(
        re.compile(r"\bdisabled\b")
    )
    editor.get_by_text("The opening words.").click()
    page.keyboard.press("End")
    toolbar(page, "horizontal rule").click()
    expect(editor.locator("hr:not(.more)")).to_have_count(1)

    if screenshots_folder():
        if page.locator("#toggle-nav-sidebar").is_visible():
            page.locator("#toggle-nav-sidebar").click()  # the room an editor can make
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 1000})
            page.locator(".prose-editor:has(#id_body)").evaluate(
                "box => box.scrollIntoView({ block: 'start' })"
            )
            shoot(page, f"editor-{width}", full_page=False)

    page.locator("input[name='_continue']").first.click()
    page.wait_for_load_state("load")
    expect(page.locator(".messagelist .success")).to_be_visible()
    body = Post.objects.get(pk=post.pk).body
    assert body.count("<figure>") == 2 and body.count("srcset=") == 2, body
    assert 'alt="The square on market day"' in body
    assert "<figcaption>Saturday, before the change</figcaption>" in body
    assert '<a class="button" href="https://example.org/walk"' in body
    assert '<div class="callout"><p>The closing words.</p></div>' in body
    assert body.count("<hr>") == 1
    assert (
        body.index("The opening words.")
        < body.index('<div class="poll-slot"></div>')
        < body.index("The closing words.")
    )
    assert page.evaluate("window.__cspViolations") == []

    # The reader's page: the images in their renditions, the poll where the editor put it.
    page.goto(post.get_absolute_url())
    images = page.locator(".post-body figure img")
    expect(images).to_have_count(2)
    images.first.scroll_into_view_if_needed()
    expect(images.first).to_have_js_property("complete", True)
    assert images.first.evaluate("img => img.naturalWidth") > 0
    question = page.get_by_role("heading", name="Should the square go car-free?")
    expect(question).to_be_visible()
    assert question.evaluate(
        "node => !!(document.querySelector('.post-body').compareDocumentPosition(node) & 4)"
    )
    shoot(page, "post-blocks", widths=(375, 1280))


def test_dropped_and_pasted_pictures_are_uploaded_and_a_bad_file_gets_a_clear_message(
    editor_page,
):
    page = editor_page
    post = PostFactory(body="<p>Words.</p>")
    page.goto(f"/admin/posts/post/{post.pk}/change/")
    editor = page.locator(BODY_EDITOR)
    expect(editor).to_be_visible()

    hand_over(page, b"%PDF-1.4 a report, not a picture", "report.png", "image/png", "drop")
    notice = page.locator(".ff-editor-notice")
    expect(notice).to_contain_text("This file is not an image we can read.")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert not BodyImage.objects.exists()

    hand_over(page, jpeg_bytes((800, 500)), "dropped.jpg", "image/jpeg", "drop")
    describe(page, "A dropped photo")
    expect(editor.locator("figure img")).to_have_count(1)
    expect(notice).to_be_hidden()
    assert BodyImage.objects.count() == 1

    # HTML from another site: the words are pasted, its picture is left out with a notice.
    editor.get_by_text("Words.").click()
    page.evaluate(
        PASTE_HTML,
        '<p>Copied words <img src="https://docs.example.com/pic.png" alt="theirs"></p>',
    )
    expect(editor.get_by_text("Copied words")).to_be_visible()
    expect(notice).to_contain_text("1 pasted image(s) were left out")
    expect(editor.locator("img[src*='docs.example.com']")).to_have_count(0)

    # A picture carried inside the pasted HTML (a data: address) is uploaded after the words.
    carried = base64.b64encode(png_bytes((300, 200))).decode()
    page.evaluate(PASTE_HTML, f'<p>More words <img src="data:image/png;base64,{carried}"></p>')
    describe(page, "A carried picture")
    expect(editor.get_by_text("More words")).to_be_visible()
    expect(editor.locator("figure img")).to_have_count(2)
    expect(editor.locator("img[src^='data:']")).to_have_count(0)
    assert BodyImage.objects.count() == 2
    assert page.evaluate("window.__cspViolations") == []


def test_the_editor_refuses_to_save_an_image_without_alt_text(editor_page):
    page = editor_page
    image = store_body_image(
        upload=SimpleUploadedFile("a.jpg", jpeg_bytes((1000, 600)), "image/jpeg"),
        uploaded_by=None,
    )
    src = default_storage.url(image.largest()["name"])
    post = PostFactory(body="<p>Words.</p>")
    # As an import or an old body might hold it: past the sanitiser, which would drop it.
    Post.objects.filter(pk=post.pk).update(
        body=f'<p>Words.</p><figure><img src="{src}" alt=""></figure>'
    )
    page.goto(f"/admin/posts/post/{post.pk}/change/")
    editor = page.locator(BODY_EDITOR)
    expect(editor.locator("figure img")).to_have_count(1)

    page.locator("input[name='_continue']").first.click()
    notice = page.locator(".ff-editor-notice")
    expect(notice).to_contain_text("Not saved: 1 image(s) have no alt text.")
    expect(page.locator(".messagelist .success")).to_have_count(0)

    editor.locator("figure img").dblclick()
    describe(page, "Rooftops in the rain")
    page.locator("input[name='_continue']").first.click()
    page.wait_for_load_state("load")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert 'alt="Rooftops in the rain"' in Post.objects.get(pk=post.pk).body


def test_an_editor_logged_out_meanwhile_is_told_and_keeps_the_text(editor_page):
    page = editor_page
    post = PostFactory(body="<p>Words.</p>")
    page.goto(f"/admin/posts/post/{post.pk}/change/")
    editor = page.locator(BODY_EDITOR)
    editor.get_by_text("Words.").click()
    page.keyboard.type(" More words typed.")
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)

    hand_over(page, jpeg_bytes((800, 500)), "photo.jpg", "image/jpeg", "drop")

    expect(page.locator(".ff-editor-notice")).to_contain_text("you have been logged out")
    expect(editor).to_contain_text("Words. More words typed.")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert not BodyImage.objects.exists()
