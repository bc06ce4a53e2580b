"""Autosave keeps an editor's unsaved words as their own draft copy: never what readers see,
offered back on the edit page, previewed at the post's real page for staff only."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from posts.forms import BODY_MAX_LENGTH
from posts.models import Post, PostDraft
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory
from tests.posts.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db


def url(post, name):
    return reverse(f"admin:posts_post_{name}", args=[post.pk])


@pytest.fixture
def ada():
    return EditorFactory(display_name="Ada Writer")


@pytest.fixture
def ada_client(ada):
    client = Client()
    client.force_login(ada)
    return client


def words(post, **changes) -> dict:
    return {
        "base_version": str(post.version),
        "title": post.title,
        "subtitle": post.subtitle,
        "body": post.body,
        **changes,
    }


def test_autosave_of_a_live_post_changes_nothing_readers_see(ada_client, ada):
    post = PostFactory(title="Live title", body="<p>What readers read.</p>")
    response = ada_client.post(
        url(post, "autosave"),
        words(post, title="Half-written title", body="<p>Unfinished <script>x()</script>thought"),
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["saved"] is True
    assert len(response.json()["saved_at"]) == 5  # "12:04"
    draft = PostDraft.objects.get(post=post, editor=ada)
    assert draft.title == "Half-written title"
    assert draft.body == "<p>Unfinished thought</p>"  # sanitised like a saved body
    reader_page = Client().get(post.get_absolute_url()).content.decode()
    assert "What readers read." in reader_page and "Unfinished" not in reader_page
    post.refresh_from_db()
    assert (post.title, post.version) == ("Live title", 1)


def test_reloading_the_edit_page_finds_the_draft_and_saving_applies_it(ada_client, ada):
    post = PostFactory(title="Saved title", body="<p>Saved body.</p>")
    ada_client.post(url(post, "autosave"), words(post, body="<p>Typed, not saved.</p>"))

    page = ada_client.get(url(post, "change")).content.decode()
    assert "This form shows your autosaved draft" in page
    assert "Typed, not saved." in page
    # Another editor opening the post sees the saved words, not Ada's draft.
    other = Client()
    other.force_login(EditorFactory())
    assert "Typed, not saved." not in other.get(url(post, "change")).content.decode()

    response = ada_client.post(
        url(post, "change"), admin_form_data(ada_client, url(post, "change"))
    )
    assert response.status_code == HTTPStatus.FOUND
    post.refresh_from_db()
    assert post.body == "<p>Typed, not saved.</p>" and post.version == 2
    assert not PostDraft.objects.filter(post=post).exists()
    assert "autosaved draft" not in ada_client.get(url(post, "change")).content.decode()


def test_a_draft_can_be_discarded(ada_client, ada):
    post = PostFactory(body="<p>Kept.</p>")
    ada_client.post(url(post, "autosave"), words(post, body="<p>Thrown away.</p>"))
    response = ada_client.post(url(post, "discard_draft"), follow=True)
    assert "Your autosaved draft is discarded." in response.content.decode()
    assert "Thrown away." not in response.content.decode()
    assert not PostDraft.objects.exists()


def test_autosave_after_someone_saved_is_refused_and_names_them(ada_client):
    post = PostFactory(title="Start")
    ben = EditorFactory(display_name="Ben Writer")
    ben_client = Client()
    ben_client.force_login(ben)
    ben_client.post(
        url(post, "change"), admin_form_data(ben_client, url(post, "change"), title="Ben's title")
    )

    response = ada_client.post(url(post, "autosave"), words(post, title="Ada's idea"))
    assert response.status_code == HTTPStatus.CONFLICT
    assert "Ben Writer saved this post at" in response.json()["error"]
    assert not PostDraft.objects.exists()


def test_autosave_of_a_post_that_does_not_exist_is_not_found(ada_client):
    post = PostFactory()
    forged = reverse("admin:posts_post_autosave", args=[post.pk + 1000])
    assert ada_client.post(forged, words(post)).status_code == HTTPStatus.NOT_FOUND
    forged = reverse("admin:posts_post_autosave", args=["not-a-number"])
    assert ada_client.post(forged, words(post)).status_code == HTTPStatus.NOT_FOUND
    assert not PostDraft.objects.exists()


def test_autosave_is_for_staff_only(client):
    post = PostFactory()
    assert client.post(url(post, "autosave"), words(post)).status_code == HTTPStatus.FOUND
    subscriber = SubscriptionFactory().user
    client.force_login(subscriber)
    response = client.post(url(post, "autosave"), words(post, title="Defaced"))
    assert response.status_code == HTTPStatus.FOUND
    assert "/login/" in response["Location"]
    assert not PostDraft.objects.exists()


def test_autosave_needs_the_csrf_token(ada):
    post = PostFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    assert client.post(url(post, "autosave"), words(post)).status_code == HTTPStatus.FORBIDDEN
    assert not PostDraft.objects.exists()


def test_autosave_is_a_post_only(ada_client):
    post = PostFactory()
    assert ada_client.get(url(post, "autosave")).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_an_empty_body_is_kept_as_typed(ada_client, ada):
    post = PostFactory(body="<p>Something.</p>")
    response = ada_client.post(url(post, "autosave"), words(post, body=""))
    assert response.status_code == HTTPStatus.OK
    assert PostDraft.objects.get(editor=ada).body == ""
    post.refresh_from_db()
    assert post.body == "<p>Something.</p>"


def test_a_huge_body_is_refused_with_a_reason(ada_client):
    post = PostFactory()
    huge = "<p>" + "x" * BODY_MAX_LENGTH + "</p>"
    response = ada_client.post(url(post, "autosave"), words(post, body=huge))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "too long to keep" in response.json()["error"]
    assert not PostDraft.objects.exists()


def test_autosave_without_a_version_is_refused(ada_client):
    post = PostFactory()
    response = ada_client.post(url(post, "autosave"), words(post, base_version=""))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not PostDraft.objects.exists()


# --- Preview of the web page ---


def test_preview_frames_the_reader_page_at_desktop_and_phone_width(ada_client):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Not out yet")
    page = ada_client.get(url(post, "web_preview"))
    html = page.content.decode()
    assert page.status_code == HTTPStatus.OK
    assert 'width="1280"' in html and "only staff can see this preview" in html
    assert f'src="{url(post, "web_preview_page")}?source=saved"' in html
    assert "frame-src 'self'" in page["Content-Security-Policy"]
    phone = ada_client.get(url(post, "web_preview") + "?width=phone").content.decode()
    assert 'width="375"' in phone
    # The email preview is one click away.
    assert url(post, "newsletter_preview") in html


def test_preview_shows_the_autosaved_words_to_their_editor_only(ada_client):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Saved draft")
    ada_client.post(url(post, "autosave"), words(post, title="Autosaved headline"))

    framed = ada_client.get(url(post, "web_preview_page") + "?source=draft")
    assert framed.status_code == HTTPStatus.OK
    assert '<h1 id="post-title">Autosaved headline</h1>' in framed.content.decode()
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed["Content-Security-Policy"]
    saved = ada_client.get(url(post, "web_preview_page") + "?source=saved").content.decode()
    assert "Saved draft" in saved and "Autosaved headline" not in saved

    # Readers and subscribers never reach a draft, by the preview or the real address.
    subscriber = Client()
    subscriber.force_login(SubscriptionFactory().user)
    assert subscriber.get(url(post, "web_preview_page")).status_code == HTTPStatus.FOUND
    assert subscriber.get(post.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND
    assert Client().get(url(post, "web_preview_page")).status_code == HTTPStatus.FOUND


def test_a_draft_behind_the_post_says_who_saved_since(ada_client):
    post = PostFactory(title="Start")
    ada_client.post(url(post, "autosave"), words(post, title="Ada's draft"))
    ben_client = Client()
    ben_client.force_login(EditorFactory(display_name="Ben Writer"))
    ben_client.post(
        url(post, "change"), admin_form_data(ben_client, url(post, "change"), title="Ben's")
    )

    page = ada_client.get(url(post, "change")).content.decode()
    assert "This form shows your autosaved draft" in page
    assert "Ben Writer saved the post since" in page
    # Saving the draft is then a conflict Ada is told about, not a silent overwrite.
    response = ada_client.post(
        url(post, "change"), admin_form_data(ada_client, url(post, "change"))
    )
    assert response.status_code == HTTPStatus.OK
    assert "Ben Writer saved this post at" in response.content.decode()
    post.refresh_from_db()
    assert post.title == "Ben's"
