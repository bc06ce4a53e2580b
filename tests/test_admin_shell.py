"""The editors' admin: navigation by task, the moderation queue's count on every page, no
password actions for editors who sign in by code, and each editor's email choices."""

import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, CommentReport
from futureforward.adminsite import section_for
from tests.factories import CommentFactory, EditorFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

COUNT = re.compile(r'class="ff-count">(\d+)<span class="visually-hidden"> waiting for review')


@pytest.fixture
def waiting():
    """Two comments wait for review (one held, one reported); three others do not."""
    post = PostFactory()
    reader = UserFactory()
    CommentFactory(post=post, author=reader, status=Comment.Status.HELD)
    reported = CommentFactory(post=post, author=reader)
    CommentReport.objects.create(comment=reported, reporter=UserFactory(), reason="spam")
    # Not waiting: held but deleted by its author; a dismissed report; a visible comment.
    CommentFactory(post=post, author=reader, status=Comment.Status.HELD, deleted_at=timezone.now())
    dismissed = CommentFactory(post=post, author=reader)
    CommentReport.objects.create(
        comment=dismissed, reporter=UserFactory(), reason="spam", resolved_at=timezone.now()
    )
    CommentFactory(post=post, author=reader)
    return post


def test_index_lists_the_editors_sections_in_task_order(editor_client):
    response = editor_client.get(reverse("admin:index"))
    assert response.status_code == HTTPStatus.OK
    sections = response.context["app_list"]
    assert [str(s["name"]) for s in sections] == ["Write", "Audience", "Discussion", "Settings"]
    write = [str(m["name"]) for m in sections[0]["models"]]
    assert write[:3] == ["Posts", "Tags", "Pages"]
    settings_names = [str(m["name"]) for m in sections[3]["models"]]
    assert {"Groups", "Email addresses", "Authenticators", "Staff"} <= set(settings_names)
    # Posts come before the security models in the page itself.
    html = response.content.decode()
    assert html.index(">Posts<") < html.index(">Email addresses<")


def test_an_app_added_later_falls_into_a_section_by_the_table():
    assert section_for("publication", "Publication") == "settings"
    assert section_for("newsletter", "Segment") == "audience"
    assert section_for("analytics", "DailyCount") == "audience"
    assert section_for("posts", "Revision") == "write"
    assert section_for("comments", "CommentSettings") == "settings"
    assert section_for("some_new_app", "Thing") == "settings"


def test_an_apps_own_page_still_lists_that_apps_models(editor_client):
    response = editor_client.get(reverse("admin:app_list", args=["comments"]))
    assert response.status_code == HTTPStatus.OK
    assert [app["app_label"] for app in response.context["app_list"]] == ["comments"]


@pytest.mark.parametrize(
    "url_name", ["admin:index", "admin:posts_post_changelist", "admin:posts_tag_add"]
)
def test_the_queue_count_is_in_the_navigation_on_every_admin_page(editor_client, waiting, url_name):
    response = editor_client.get(reverse(url_name))
    assert response.status_code == HTTPStatus.OK
    counts = COUNT.findall(response.content.decode())
    assert counts and set(counts) == {"2"}


def test_the_queue_link_opens_what_waits(editor_client, waiting):
    response = editor_client.get(reverse("admin:index"))
    url = reverse("admin:comments_comment_changelist") + "?queue=review"
    assert f'href="{url}"' in response.content.decode()
    queue = editor_client.get(url)
    assert queue.context["cl"].result_count == 2


def test_no_count_when_nothing_waits(editor_client):
    CommentFactory()
    response = editor_client.get(reverse("admin:index"))
    assert "ff-count" not in response.content.decode()


def test_the_count_is_one_query_per_page(editor_client, waiting):
    with CaptureQueriesContext(connection) as queries:
        response = editor_client.get(reverse("admin:posts_tag_changelist"))
    assert response.status_code == HTTPStatus.OK
    on_comments = [q["sql"] for q in queries if 'FROM "comments_comment"' in q["sql"]]
    assert len(on_comments) == 1


@pytest.mark.parametrize("path", ["/admin/", "/admin/posts/post/", "/admin/notices/"])
def test_readers_never_see_the_navigation_or_the_count(client, waiting, path):
    reader = UserFactory()
    client.force_login(reader)
    response = client.get(path, follow=True)
    html = response.content.decode()
    assert "Moderation queue" not in html
    assert "ff-count" not in html
    assert "waiting for review" not in html


def test_anonymous_visitors_never_see_the_navigation_or_the_count(client, waiting):
    response = client.get("/admin/", follow=True)
    html = response.content.decode()
    assert "Moderation queue" not in html
    assert "ff-count" not in html


# --- Editors who sign in by code have no password to act on ---


@pytest.fixture
def code_only_editor(client):
    editor = EditorFactory(password=None)
    assert not editor.has_usable_password()
    client.force_login(editor)
    return editor


def test_code_only_editor_is_offered_no_password_change(client, code_only_editor):
    html = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:password_change") not in html
    assert "Change password" not in html


def test_editor_with_a_password_is_offered_the_change(editor_client):
    html = editor_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("admin:password_change")}"' in html


def test_code_only_editor_is_sent_back_from_the_password_change_page(client, code_only_editor):
    response = client.get(reverse("admin:password_change"), follow=True)
    assert response.redirect_chain == [(reverse("admin:index"), HTTPStatus.FOUND)]
    assert "there is no password to change" in response.content.decode()
    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": "",
            "new_password1": "Another-pass-99",
            "new_password2": "Another-pass-99",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    code_only_editor.refresh_from_db()
    assert not code_only_editor.has_usable_password()


def test_code_only_editor_sees_no_password_on_their_own_account(client, code_only_editor):
    own = reverse("admin:accounts_user_change", args=[code_only_editor.pk])
    html = client.get(own).content.decode()
    assert "password" not in html.lower()
    password_page = reverse("admin:auth_user_password_change", args=[code_only_editor.pk])
    response = client.get(password_page)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == own


def test_a_superuser_still_sees_another_accounts_password_field(client, code_only_editor):
    other = EditorFactory()
    html = client.get(reverse("admin:accounts_user_change", args=[other.pk])).content.decode()
    assert 'href="../password/"' in html  # Django's "Reset password" button


# --- Each editor's email choices ---


def test_editor_turns_on_review_emails_on_their_own_page(editor_client):
    editor = editor_client.user
    page = editor_client.get(reverse("admin:notices"))
    assert page.status_code == HTTPStatus.OK
    assert "email me when comments wait for review" in page.content.decode().lower()
    response = editor_client.post(
        reverse("admin:notices"), {"notify_review_queue": "on"}, follow=True
    )
    assert "Your email choices are saved." in response.content.decode()
    editor.refresh_from_db()
    assert editor.notify_review_queue and not editor.notify_sends


def test_the_choices_page_changes_only_the_signed_in_editor(editor_client):
    other = EditorFactory(notify_sends=True)
    editor_client.post(reverse("admin:notices"), {"notify_review_queue": "on"})
    other.refresh_from_db()
    assert other.notify_sends and not other.notify_review_queue


def test_staff_without_any_model_permission_can_still_set_their_choices(client):
    staff = EditorFactory(is_superuser=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_comment"))
    client.force_login(staff)
    response = client.post(reverse("admin:notices"), {"notify_sends": "on"})
    assert response.status_code == HTTPStatus.FOUND
    staff.refresh_from_db()
    assert staff.notify_sends


def test_readers_cannot_reach_the_choices_page(client):
    reader = UserFactory()
    client.force_login(reader)
    response = client.post(reverse("admin:notices"), {"notify_review_queue": "on"})
    assert response.status_code == HTTPStatus.FOUND
    assert "/login" in response["Location"]
    reader.refresh_from_db()
    assert not reader.notify_review_queue


def test_unticking_every_box_turns_the_emails_off(client):
    editor = EditorFactory(notify_review_queue=True, notify_sends=True)
    client.force_login(editor)
    response = client.post(reverse("admin:notices"), {})
    assert response.status_code == HTTPStatus.FOUND
    editor.refresh_from_db()
    assert not editor.notify_review_queue and not editor.notify_sends


def test_staff_see_only_what_they_may_open_and_no_count_without_comment_rights(client, waiting):
    writer = EditorFactory(is_superuser=False)
    writer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_post", "change_post"])
    )
    client.force_login(writer)
    response = client.get(reverse("admin:index"))
    sections = response.context["app_list"]
    assert [str(s["name"]) for s in sections] == ["Write"]
    assert [str(m["name"]) for m in sections[0]["models"]] == ["Posts"]
    html = response.content.decode()
    assert "ff-count" not in html and "Staff" not in html
