"""The editors' moderation queue in the admin."""

from http import HTTPStatus

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, Commenter, CommentReport, CommentSettings
from comments.services import add_comment
from tests.factories import CommentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:comments_comment_changelist"


def run_action(client, action, comments, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, ACTION_CHECKBOX_NAME: [c.pk for c in comments], **extra},
    )


def test_queue_filters(editor_client, post, trusted, other):
    held = CommentFactory(post=post, body="Held words", status="held")
    visible = CommentFactory(post=post, body="Visible words")
    removed = CommentFactory(post=post, body="Removed words", status="removed")
    reported = CommentFactory(post=post, body="Reported words")
    CommentReport.objects.create(comment=reported, reporter=trusted, reason="spam")

    def listed(query):
        html = editor_client.get(reverse(CHANGELIST) + query).content.decode()
        return {c.body for c in (held, visible, removed, reported) if c.body in html}

    assert listed("?queue=held") == {"Held words"}
    assert listed("?queue=visible") == {"Visible words", "Reported words"}
    assert listed("?queue=removed") == {"Removed words"}
    assert listed("?queue=reported") == {"Reported words"}
    assert listed("?queue=review") == {"Held words", "Reported words"}
    assert listed("") == {"Held words", "Visible words", "Removed words", "Reported words"}


def test_bulk_approve_hide_remove(editor_client, editor, post):
    comments = [CommentFactory(post=post, status="held") for _ in range(3)]
    response = run_action(editor_client, "approve", comments)
    assert response.status_code == HTTPStatus.FOUND
    assert set(Comment.objects.values_list("status", flat=True)) == {"visible"}
    run_action(editor_client, "hide", comments[:1])
    run_action(editor_client, "remove", comments[1:2])
    statuses = dict(Comment.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in comments] == ["hidden", "removed", "visible"]
    assert Comment.objects.get(pk=comments[0].pk).moderated_by == editor


def test_approving_trusts_the_author(editor_client, post):
    newcomer = SubscriptionFactory().user
    held = add_comment(post=post, author=newcomer, body="Hello, first time")
    assert held.status == "held"
    run_action(editor_client, "approve", [held])
    assert Commenter.objects.get(user=newcomer).is_trusted


def test_change_page_shows_reports_and_history(editor_client, post, trusted, other):
    comment = CommentFactory(post=post, author=other, body="Questionable")
    CommentFactory(post=post, author=other, body="Earlier remark by the same reader")
    CommentReport.objects.create(
        comment=comment, reporter=trusted, reason="abuse", details="Insults another reader"
    )
    url = reverse("admin:comments_comment_change", args=[comment.pk])
    html = editor_client.get(url).content.decode()
    assert "Abusive or harassing" in html
    assert "Insults another reader" in html
    assert "Earlier remark by the same reader" in html
    history = reverse(CHANGELIST) + f"?author__id__exact={other.pk}"
    assert history.replace("&", "&amp;") in html or history in html
    listed = editor_client.get(history)
    assert listed.status_code == HTTPStatus.OK
    assert "Earlier remark" in listed.content.decode()


def test_status_change_on_the_form_uses_the_service(editor_client, editor, post, trusted):
    comment = CommentFactory(post=post, status="held")
    CommentReport.objects.create(comment=comment, reporter=trusted, reason="spam")
    url = reverse("admin:comments_comment_change", args=[comment.pk])
    response = editor_client.post(
        url,
        {
            "status": "removed",
            "reports-TOTAL_FORMS": "1",
            "reports-INITIAL_FORMS": "1",
            "reports-MIN_NUM_FORMS": "0",
            "reports-MAX_NUM_FORMS": "1000",
            "reports-0-id": CommentReport.objects.get().pk,
            "reports-0-comment": comment.pk,
        },
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    comment.refresh_from_db()
    assert comment.status == "removed"
    assert comment.moderated_by == editor
    assert CommentReport.objects.get().resolved_by == editor


def test_ban_authors_asks_for_a_reason_then_bans(editor_client, editor, post, other):
    comment = CommentFactory(post=post, author=other)
    response = run_action(editor_client, "ban_authors", [comment])
    assert response.status_code == HTTPStatus.OK
    assert "Reason" in response.content.decode()
    assert not Commenter.objects.filter(user=other, is_banned=True).exists()

    response = run_action(
        editor_client, "ban_authors", [comment], apply="1", reason="Personal attacks"
    )
    assert response.status_code == HTTPStatus.FOUND
    commenter = Commenter.objects.get(user=other)
    assert commenter.is_banned
    assert commenter.ban_reason == "Personal attacks"
    assert commenter.banned_by == editor


def test_ban_without_reason_is_asked_again(editor_client, post, other):
    comment = CommentFactory(post=post, author=other)
    response = run_action(editor_client, "ban_authors", [comment], apply="1", reason="")
    assert response.status_code == HTTPStatus.OK
    assert not Commenter.objects.filter(user=other, is_banned=True).exists()


def test_unban_action_and_ban_by_form(editor_client, editor, other):
    commenter = Commenter.objects.get(user=other)
    url = reverse("admin:comments_commenter_change", args=[commenter.pk])
    response = editor_client.post(
        url, {"user": other.pk, "is_banned": "on", "ban_reason": "Spam", "is_trusted": "on"}
    )
    assert response.status_code == HTTPStatus.FOUND
    commenter.refresh_from_db()
    assert (commenter.is_banned, commenter.banned_by) == (True, editor)

    editor_client.post(
        reverse("admin:comments_commenter_changelist"),
        {"action": "unban", ACTION_CHECKBOX_NAME: [commenter.pk]},
    )
    commenter.refresh_from_db()
    assert not commenter.is_banned
    assert commenter.banned_by is None


def test_settings_are_one_editable_row(editor_client):
    response = editor_client.get(reverse("admin:comments_commentsettings_changelist"))
    assert response.status_code == HTTPStatus.FOUND
    settings_row = CommentSettings.load()
    response = editor_client.post(
        response["Location"],
        {"hold_first_comments": "", "max_links": "5", "blocked_words": "casino\nloan shark"},
    )
    assert response.status_code == HTTPStatus.FOUND
    settings_row.refresh_from_db()
    assert not settings_row.hold_first_comments
    assert settings_row.max_links == 5
    assert settings_row.blocked_word_list() == ["casino", "loan shark"]
    assert CommentSettings.objects.count() == 1


def test_report_admin_lists_and_dismisses(editor_client, editor, post, trusted):
    comment = CommentFactory(post=post)
    report = CommentReport.objects.create(comment=comment, reporter=trusted, reason="spam")
    html = editor_client.get(reverse("admin:comments_commentreport_changelist")).content.decode()
    assert "Spam or advertising" in html
    editor_client.post(
        reverse("admin:comments_commentreport_changelist"),
        {"action": "dismiss", ACTION_CHECKBOX_NAME: [report.pk]},
    )
    report.refresh_from_db()
    assert report.resolved_by == editor
    comment.refresh_from_db()
    assert comment.status == "visible"


def test_readers_cannot_reach_the_queue(client, trusted):
    client.force_login(trusted)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == HTTPStatus.FOUND
    assert "login" in response["Location"]


def test_a_comment_its_author_deleted_shows_as_deleted_not_held(editor_client, post):
    CommentFactory(post=post, body="Second thoughts", status="held", deleted_at=timezone.now())
    html = editor_client.get(reverse(CHANGELIST)).content.decode()
    assert '<td class="field-state">Deleted by its author</td>' in html
    review = editor_client.get(reverse(CHANGELIST) + "?queue=review").content.decode()
    assert "(deleted by its author)" not in review
