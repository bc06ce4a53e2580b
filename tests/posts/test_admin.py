"""From the editor's admin to the reader's pages: write, schedule, publish, find."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from posts.models import Post
from tests.factories import EditorFactory, PostFactory, TagFactory
from tests.posts.admin_forms import admin_form_data
from tests.posts.pictures import jpeg_bytes

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/posts/post/add/"
LIST_URL = "/admin/posts/post/"


def split_datetime(moment):
    local = timezone.localtime(moment)
    return {
        "published_at_0": local.strftime("%Y-%m-%d"),
        "published_at_1": local.strftime("%H:%M:%S"),
    }


def reader_sees_everywhere(client, post) -> dict:
    """Where an anonymous reader finds post: its page, home, both feeds, sitemap, search."""
    return {
        "page": client.get(post.get_absolute_url()).status_code == HTTPStatus.OK,
        "home": post.title in client.get("/").content.decode(),
        "rss": post.get_absolute_url() in client.get("/feed/").content.decode(),
        "atom": post.get_absolute_url() in client.get("/feed/atom/").content.decode(),
        "sitemap": post.get_absolute_url() in client.get("/sitemap.xml").content.decode(),
        "search": post.get_absolute_url() in client.get("/search/?q=geothermal").content.decode(),
    }


@pytest.fixture
def anonymous():
    """A second browser, never logged in (editor_client is pytest-django's `client`)."""
    return Client()


def test_editor_schedules_a_post_and_it_appears_by_itself(anonymous, editor_client):
    client = anonymous
    tag = TagFactory(name="Energy", slug="energy")
    when = timezone.now() + timedelta(hours=2)
    data = admin_form_data(
        editor_client,
        ADD_URL,
        title="Geothermal comes of age",
        slug="geothermal-comes-of-age",
        subtitle="Drilling tricks from oil fields warm whole towns.",
        body='<p>Geothermal heat is steady.</p><script>alert("x")</script>'
        '<p><a href="javascript:alert(1)">bad</a> <a href="https://example.com">good</a></p>',
        daily_takeaway="Heat from below is finally cheap enough to matter.",
        tags=[str(tag.pk)],
        status="scheduled",
        audience="everyone",
        comments_mode="open",
        cover=SimpleUploadedFile("cover.jpg", jpeg_bytes(), content_type="image/jpeg"),
        cover_alt="A drilling rig at dusk",
        **split_datetime(when),
    )
    response = editor_client.post(ADD_URL, data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]

    post = Post.objects.get(slug="geothermal-comes-of-age")
    assert post.status == Post.Status.SCHEDULED and post.is_scheduled()
    assert list(post.authors.all()) == [editor_client.user]  # the editor, by default
    assert "<script>" not in post.body and "javascript:" not in post.body
    assert 'rel="noopener noreferrer"' in post.body
    assert post.cover_renditions

    # Before its time: nowhere for readers, but the editor previews it at the real address.
    assert not any(reader_sees_everywhere(client, post).values())
    preview = editor_client.get(post.get_absolute_url())
    assert preview.status_code == HTTPStatus.OK
    assert "Scheduled for" in preview.content.decode()
    assert 'name="robots" content="noindex"' in preview.content.decode()

    # Its time comes. Nothing runs and nothing is saved: the clock alone publishes it.
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(minutes=1))
    assert reader_sees_everywhere(client, post) == dict.fromkeys(
        ["page", "home", "rss", "atom", "sitemap", "search"], True
    )
    page = client.get(post.get_absolute_url()).content.decode()
    assert "Heat from below is finally cheap enough to matter." in page
    assert "Preview." not in page


def test_publish_now_action_publishes_drafts_and_back_to_draft_hides_them(anonymous, editor_client):
    client = anonymous
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Quiet draft")
    assert client.get(draft.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND

    editor_client.post(LIST_URL, {"action": "publish_now", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Post.Status.PUBLISHED and draft.is_published()
    assert client.get(draft.get_absolute_url()).status_code == HTTPStatus.OK

    editor_client.post(LIST_URL, {"action": "back_to_draft", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Post.Status.DRAFT
    assert client.get(draft.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_scheduling_in_the_past_is_refused_with_a_clear_message(editor_client):
    data = admin_form_data(
        editor_client,
        ADD_URL,
        title="Late",
        slug="late",
        status="scheduled",
        **split_datetime(timezone.now() - timedelta(days=1)),
    )
    response = editor_client.post(ADD_URL, data)
    assert "This time has already passed" in response.content.decode()
    assert not Post.objects.filter(slug="late").exists()


def test_a_scheduled_post_without_a_time_is_refused(editor_client):
    data = admin_form_data(
        editor_client,
        ADD_URL,
        title="When?",
        slug="when",
        status="scheduled",
        published_at_0="",
        published_at_1="",
    )
    response = editor_client.post(ADD_URL, data)
    assert "Choose when this post should appear." in response.content.decode()


def test_changing_a_post_keeps_its_publish_time(editor_client):
    post = PostFactory(title="Old title")
    published_at = post.published_at
    url = f"/admin/posts/post/{post.pk}/change/"
    response = editor_client.post(url, admin_form_data(editor_client, url, title="New title"))
    assert response.status_code == HTTPStatus.FOUND
    post.refresh_from_db()
    # The admin edits whole seconds; the moment itself does not move.
    assert post.title == "New title"
    assert post.published_at == published_at.replace(microsecond=0)


def test_admin_list_searches_filters_and_browses_by_date(editor_client):
    energy = TagFactory(name="Energy", slug="energy")
    author = EditorFactory(display_name="Nia Author")
    live = PostFactory(title="Solar roofs everywhere")
    live.tags.add(energy)
    live.authors.add(author)
    PostFactory(
        title="Wind later",
        published_at=timezone.now() + timedelta(days=3),
        status=Post.Status.SCHEDULED,
    )
    PostFactory(title="Draft about tides", status=Post.Status.DRAFT, published_at=None)

    def titles(query):
        response = editor_client.get(LIST_URL + query)
        assert response.status_code == HTTPStatus.OK
        return {post.title for post in response.context["cl"].result_list}

    assert titles("?q=solar") == {"Solar roofs everywhere"}
    assert titles("?state=live") == {"Solar roofs everywhere"}
    assert titles("?state=scheduled") == {"Wind later"}
    assert titles("?state=draft") == {"Draft about tides"}
    assert titles(f"?tags__id__exact={energy.pk}") == {"Solar roofs everywhere"}
    assert titles(f"?authors__id__exact={author.pk}") == {"Solar roofs everywhere"}
    year = timezone.localtime(live.published_at).year
    assert "Solar roofs everywhere" in titles(f"?published_at__year={year}")
    page = editor_client.get(LIST_URL).content.decode()
    assert "Scheduled for" in page and "Nia Author" in page


def test_view_on_site_leads_to_the_post_even_for_a_draft(editor_client):
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    change = editor_client.get(f"/admin/posts/post/{draft.pk}/change/").content.decode()
    assert "Preview (staff only)" in change and draft.get_absolute_url() in change
    # Django's "View on site" goes through its shortcut view to get_absolute_url().
    shortcut = editor_client.get(f"/admin/r/{_content_type_id()}/{draft.pk}/")
    assert shortcut.status_code == HTTPStatus.FOUND
    assert shortcut["Location"].endswith(draft.get_absolute_url())
    assert editor_client.get(draft.get_absolute_url()).status_code == HTTPStatus.OK


def _content_type_id():
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(Post).pk


def test_the_add_page_offers_the_rich_text_editor(editor_client):
    html = editor_client.get(ADD_URL).content.decode()
    assert "data-django-prose-editor-configurable" in html
    assert "django_prose_editor/editor.js" in html


def test_readers_are_not_offered_as_authors(editor_client, reader):
    html = editor_client.get(ADD_URL).content.decode()
    assert reader.email not in html
    assert f"{editor_client.user.public_name} ({editor_client.user.email})" in html


def scheduled_post_whose_time_came(**fields) -> Post:
    """A post saved as scheduled whose publish time then passed: its row still says so."""
    post = PostFactory(
        status=Post.Status.SCHEDULED,
        published_at=timezone.now() + timedelta(hours=1),
        **fields,
    )
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(minutes=5))
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    return post


def test_state_agrees_with_the_querysets_as_time_passes():
    went_live = scheduled_post_whose_time_came(title="Went live")
    later = PostFactory(
        title="Later", status=Post.Status.SCHEDULED, published_at=timezone.now() + timedelta(days=1)
    )
    draft = PostFactory(title="Draft", status=Post.Status.DRAFT, published_at=None)
    assert [went_live.state, later.state, draft.state] == [
        Post.Status.PUBLISHED,
        Post.Status.SCHEDULED,
        Post.Status.DRAFT,
    ]
    titles = lambda queryset: {post.title for post in queryset}  # noqa: E731
    assert titles(Post.objects.published()) == {"Went live"}
    assert titles(Post.objects.scheduled()) == {"Later"}
    assert titles(Post.objects.drafts()) == {"Draft"}


def test_edit_form_of_a_scheduled_post_that_went_live_says_published(editor_client):
    post = scheduled_post_whose_time_came(title="Went live")
    url = f"/admin/posts/post/{post.pk}/change/"
    data = admin_form_data(editor_client, url)
    assert data["status"] == Post.Status.PUBLISHED
    html = editor_client.get(url).content.decode()
    assert "Scheduled for" not in html
    # Saving the form as shown changes nothing but the stored status, now in step.
    response = editor_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


def test_post_list_state_column_and_filter_count_a_post_that_went_live(editor_client):
    scheduled_post_whose_time_came(title="Went live")

    def rows(query=""):
        response = editor_client.get(LIST_URL + query)
        return {post.title: post for post in response.context["cl"].result_list}, response

    live, response = rows("?state=live")
    assert set(live) == {"Went live"}
    assert "Scheduled for" not in response.content.decode()
    assert set(rows("?state=scheduled")[0]) == set()
    assert set(rows("?state=draft")[0]) == set()


def test_a_typed_more_marker_is_kept_and_the_gate_cuts_there(anonymous, editor_client, subscriber):
    data = admin_form_data(
        editor_client,
        ADD_URL,
        title="Members' analysis",
        slug="members-analysis",
        body="<p>The free opening.</p><p>&lt;!--more--&gt;</p><p>The paid analysis.</p>",
        status="published",
        audience="subscribers",
        comments_mode="open",
        **split_datetime(timezone.now() - timedelta(minutes=1)),
    )
    response = editor_client.post(ADD_URL, data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    post = Post.objects.get(slug="members-analysis")
    assert post.body == '<p>The free opening.</p><hr class="more"><p>The paid analysis.</p>'

    # Opened and saved again as it is, the divider stays.
    url = f"/admin/posts/post/{post.pk}/change/"
    assert editor_client.post(url, admin_form_data(editor_client, url)).status_code == 302
    post.refresh_from_db()
    assert '<hr class="more">' in post.body

    page = anonymous.get(post.get_absolute_url()).content.decode()
    assert "The free opening." in page
    assert "The paid analysis." not in page
    assert "Keep reading with a free subscription" in page

    anonymous.force_login(subscriber)
    page = anonymous.get(post.get_absolute_url()).content.decode()
    assert "The free opening." in page and "The paid analysis." in page


def test_the_body_help_text_names_the_marker(editor_client):
    html = editor_client.get(ADD_URL).content.decode()
    assert "continue reading" in html
    assert "&lt;!--more--&gt;" in html
