"""The discussion through HTTP: plain form posts and htmx, reading and writing."""

from datetime import UTC, timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, CommentLike, CommentReport
from comments.selectors import PAGE_SIZE
from tests.comments.test_text import XSS_PAYLOADS
from tests.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def create_url(post):
    return reverse("comments:create", kwargs={"slug": post.slug})


def page_html(client, post, query=""):
    response = client.get(post.get_absolute_url() + query)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


class TestReading:
    def test_anonymous_reader_sees_comments_and_the_invitation(self, client, post, other):
        CommentFactory(post=post, author=other, body="Visible words")
        html = page_html(client, post)
        assert "Visible words" in html
        assert "1 comment" in html
        assert "to join the discussion" in html
        login = reverse("account_request_login_code")
        subscribe = reverse("accounts:subscribe")
        assert f'href="{login}?next=/p/{post.slug}/%23comment-form"' in html
        assert f'href="{subscribe}?next=/p/{post.slug}/%23comment-form"' in html
        assert 'name="body"' not in html

    def test_comment_shows_name_initial_time_and_permalink(self, client, post, other):
        comment = CommentFactory(post=post, author=other)
        html = page_html(client, post)
        assert f'id="comment-{comment.pk}"' in html
        assert other.public_name in html
        assert f">{other.public_name[0].upper()}</span>" in html
        utc = comment.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert f'<time datetime="{utc}" title="' in html
        assert f'href="{comment.get_absolute_url()}"' in html

    def test_editor_comment_has_badge(self, client, post, editor):
        CommentFactory(post=post, author=editor)
        assert "badge-editor" in page_html(client, post)

    def test_deleted_account_shows_a_deleted_reader(self, client, post, other):
        CommentFactory(post=post, author=other, body="Left behind")
        other.delete()
        html = page_html(client, post)
        assert "Left behind" in html
        assert "a deleted reader" in html

    def test_held_comment_is_shown_to_its_author_only(self, client, post, trusted, other):
        CommentFactory(post=post, author=trusted, body="Pending words", status="held")
        assert "Pending words" not in page_html(client, post)
        client.force_login(other)
        assert "Pending words" not in page_html(client, post)
        client.force_login(trusted)
        html = page_html(client, post)
        assert "Pending words" in html
        assert "Awaiting review" in html

    def test_deleted_comment_with_replies_keeps_the_thread_shape(self, client, post, other):
        top = CommentFactory(post=post, body="Gone soon", deleted_at=timezone.now())
        CommentFactory(post=post, parent=top, author=other, body="Reply remains")
        lonely = CommentFactory(post=post, body="Lonely", deleted_at=timezone.now())
        html = page_html(client, post)
        assert "This comment was deleted." in html
        assert "Reply remains" in html
        assert f'id="comment-{lonely.pk}"' not in html

    def test_removed_comment_shows_as_removed(self, client, post, other):
        top = CommentFactory(post=post, body="Nasty", status="removed")
        CommentFactory(post=post, parent=top, author=other, body="Calm reply")
        html = page_html(client, post)
        assert "Nasty" not in html
        assert "removed by the editors" in html

    def test_comments_off_renders_nothing(self, client):
        post = PostFactory(comments_mode="off")
        CommentFactory(post=post, body="Old words")
        html = page_html(client, post)
        assert 'id="comments"' not in html
        assert "Old words" not in html

    def test_closed_post_is_read_only(self, client, trusted):
        post = PostFactory(comments_mode="closed")
        CommentFactory(post=post, body="Old words")
        client.force_login(trusted)
        html = page_html(client, post)
        assert "Old words" in html
        assert "Comments are closed" in html
        assert 'name="body"' not in html
        assert "like-form" not in html

    def test_sorting(self, client, post):
        now = timezone.now()
        old = CommentFactory(post=post, body="Oldest one", created_at=now - timedelta(hours=3))
        liked = CommentFactory(post=post, body="Most liked", created_at=now - timedelta(hours=2))
        CommentFactory(post=post, body="Newest one", created_at=now - timedelta(hours=1))
        Comment.objects.filter(pk=liked.pk).update(like_count=9)
        Comment.objects.filter(pk=old.pk).update(like_count=2)

        def order(query):
            html = page_html(client, post, query)
            return sorted(
                ["Oldest one", "Most liked", "Newest one"], key=lambda text: html.index(text)
            )

        assert order("") == ["Newest one", "Most liked", "Oldest one"]
        assert order("?comments_sort=oldest") == ["Oldest one", "Most liked", "Newest one"]
        assert order("?comments_sort=top") == ["Most liked", "Oldest one", "Newest one"]
        assert order("?comments_sort=bogus") == ["Newest one", "Most liked", "Oldest one"]

    def test_sort_by_htmx_returns_the_list_only(self, client, post):
        CommentFactory(post=post, body="Only one")
        url = reverse("comments:list", kwargs={"slug": post.slug}) + "?sort=top"
        response = client.get(url, **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert html.lstrip().startswith('<div id="comment-thread"')
        assert "Only one" in html
        assert "<html" not in html
        assert "HX-Request" in response["Vary"]

    def test_list_without_htmx_goes_to_the_post(self, client, post):
        url = reverse("comments:list", kwargs={"slug": post.slug}) + "?sort=top&page=2"
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == (
            f"{post.get_absolute_url()}?comments_sort=top&comments_page=2#comments"
        )

    def test_show_more_pages_plain_and_htmx(self, client, post):
        base = timezone.now() - timedelta(days=1)
        Comment.objects.bulk_create(
            Comment(post=post, body=f"Number {i:02d}.", created_at=base + timedelta(minutes=i))
            for i in range(PAGE_SIZE + 5)
        )
        html = page_html(client, post, "?comments_sort=oldest")
        assert "Number 00." in html and f"Number {PAGE_SIZE - 1:02d}." in html
        assert f"Number {PAGE_SIZE:02d}." not in html
        assert "Show more comments" in html
        assert "?comments_sort=oldest&amp;comments_page=2#comments" in html

        plain = page_html(client, post, "?comments_sort=oldest&comments_page=2")
        assert f"Number {PAGE_SIZE:02d}." in plain and "Number 00." not in plain

        url = reverse("comments:list", kwargs={"slug": post.slug}) + "?sort=oldest&page=2"
        fragment = client.get(url, **HTMX).content.decode()
        assert fragment.lstrip().startswith('<li class="comment-item"')
        assert f"Number {PAGE_SIZE + 4:02d}." in fragment
        assert "Number 00." not in fragment
        assert "Show more comments" not in fragment

    def test_deep_threads_continue_on_a_thread_page(self, client, post):
        parent = None
        chain = []
        for level in range(6):
            parent = CommentFactory(post=post, parent=parent, body=f"Level {level} text")
            chain.append(parent)
        html = page_html(client, post)
        assert "Level 2 text" in html
        assert "Level 3 text" not in html
        thread_url = reverse("comments:thread", kwargs={"slug": post.slug, "pk": chain[2].pk})
        assert f'href="{thread_url}"' in html
        assert "Continue this thread" in html

        thread = client.get(thread_url)
        body = thread.content.decode()
        assert thread.status_code == HTTPStatus.OK
        assert "Level 2 text" in body and "Level 4 text" in body
        assert "Level 5 text" not in body  # and that continues further down
        assert "In reply to" in body

    def test_thread_page_of_someone_elses_held_comment_is_404(self, client, post, trusted):
        held = CommentFactory(post=post, author=trusted, status="held")
        url = reverse("comments:thread", kwargs={"slug": post.slug, "pk": held.pk})
        assert client.get(url).status_code == HTTPStatus.NOT_FOUND
        client.force_login(trusted)
        assert client.get(url).status_code == HTTPStatus.OK

    def test_thread_page_of_a_comment_on_another_post_is_404(self, client, post):
        comment = CommentFactory()
        url = reverse("comments:thread", kwargs={"slug": post.slug, "pk": comment.pk})
        assert client.get(url).status_code == HTTPStatus.NOT_FOUND

    def test_draft_post_comments_are_not_public(self, client):
        draft = PostFactory(status="draft", published_at=None)
        comment = CommentFactory(post=draft)
        url = reverse("comments:thread", kwargs={"slug": draft.slug, "pk": comment.pk})
        assert client.get(url).status_code == HTTPStatus.NOT_FOUND


class TestPosting:
    def test_plain_post_redirects_to_the_comment(self, client, post, trusted):
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "First!\nSecond line"})
        comment = Comment.objects.get()
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == f"{post.get_absolute_url()}#comment-{comment.pk}"
        assert comment.author == trusted
        html = page_html(client, post)
        assert "First!<br>Second line" in html
        assert "Your comment is posted." in html

    def test_htmx_post_returns_the_new_comment_and_a_fresh_form(self, client, post, trusted):
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Via htmx"}, **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.CREATED
        assert html.lstrip().startswith('<li class="comment-item"')
        assert "Via htmx" in html
        assert 'id="comment-form" class="comment-form-wrap" data-hx-swap-oob="true"' in html
        assert "Your comment is posted." in html

    def test_held_comment_says_awaiting_review(self, client, post, subscriber):
        client.force_login(subscriber)
        response = client.post(create_url(post), {"body": "New here"}, follow=True)
        html = response.content.decode()
        assert "awaiting review" in html
        assert Comment.objects.get().status == Comment.Status.HELD

    def test_reply_plain_and_htmx(self, client, post, trusted, other):
        top = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Plain reply", "parent": top.pk})
        reply = Comment.objects.get(body="Plain reply")
        assert reply.parent == top
        assert response["Location"] == (
            reverse("comments:thread", kwargs={"slug": post.slug, "pk": top.pk})
            + f"#comment-{reply.pk}"
        )
        response = client.post(create_url(post), {"body": "Htmx reply", "parent": top.pk}, **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.CREATED
        assert "Htmx reply" in html
        assert f'id="reply-{top.pk}"' in html and 'hx-swap-oob="true"' in html

    def test_xss_payloads_are_stored_and_shown_inert(self, client, post, trusted, settings):
        # The rate limit is tested elsewhere; here only the text matters.
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "comment": ""}
        client.force_login(trusted)
        for payload in XSS_PAYLOADS:
            response = client.post(create_url(post), {"body": payload})
            assert response.status_code == HTTPStatus.FOUND, payload
        assert Comment.objects.count() == len(XSS_PAYLOADS)
        assert set(Comment.objects.values_list("body", flat=True)) == set(XSS_PAYLOADS)
        html = page_html(client, post)
        section = html[html.index('id="comments"') :]
        # (Our own icons are <svg class="icon">; a reader's <svg> would come without it.)
        for needle in [
            "<script>alert",
            "<img src=x",
            "<svg>",
            "<svg onload",
            "<iframe",
            'href="javascript',
        ]:
            assert needle not in section
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section


class TestRefusals:
    """Bad input gets a message and a 4xx, keeps the reader's text, and stores nothing."""

    def test_empty_text(self, client, post, trusted):
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "   "})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "Write something before posting." in response.content.decode()
        assert not Comment.objects.exists()

    def test_over_long_text_keeps_the_text(self, client, post, trusted):
        client.force_login(trusted)
        text = "word " * 1001
        response = client.post(create_url(post), {"body": text})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "at most 5000 characters" in html
        assert text.strip() in html
        assert not Comment.objects.exists()

    def test_crlf_newlines_count_once(self, client, post, trusted):
        client.force_login(trusted)
        text = ("x" * 99 + "\r\n") * 50  # 5,000 characters once newlines are normalised
        response = client.post(create_url(post), {"body": text})
        assert response.status_code == HTTPStatus.FOUND
        assert len(Comment.objects.get().body) == 4999  # the final newline is trimmed

    def test_htmx_error_goes_back_into_the_form(self, client, post, trusted):
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": ""}, **HTMX)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response["HX-Retarget"] == "#comment-form"
        assert response["HX-Reswap"] == "outerHTML"
        assert response["X-Reader-Error"] == "1"
        assert "Write something before posting." in response.content.decode()

    def test_htmx_reply_error_goes_back_into_the_reply_form(self, client, post, trusted):
        top = CommentFactory(post=post)
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "", "parent": top.pk}, **HTMX)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response["HX-Retarget"] == f"#reply-{top.pk}"

    def test_honeypot(self, client, post, trusted):
        client.force_login(trusted)
        response = client.post(
            create_url(post), {"body": "Buy pills", "website": "http://spam.example"}
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "meant to stay empty" in response.content.decode()
        assert not Comment.objects.exists()

    def test_parent_from_another_post(self, client, post, trusted):
        elsewhere = CommentFactory()
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Hi", "parent": elsewhere.pk})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "belongs to another post" in response.content.decode()
        assert not Comment.objects.filter(post=post).exists()

    @pytest.mark.parametrize("parent", ["abc", "-3", "999999"])
    def test_malformed_or_missing_parent(self, client, post, trusted, parent):
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Hi", "parent": parent})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert not Comment.objects.exists()

    def test_reply_to_removed_comment(self, client, post, trusted):
        removed = CommentFactory(post=post, status="removed")
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Hi", "parent": removed.pk})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "can&#x27;t reply" in response.content.decode()
        assert Comment.objects.count() == 1

    def test_rate_limit_five_a_minute(self, client, post, trusted):
        client.force_login(trusted)
        for n in range(5):
            assert client.post(create_url(post), {"body": f"Comment {n}"}).status_code == 302
        response = client.post(create_url(post), {"body": "One too many"})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert "5 comments a minute" in html
        assert "One too many" in html  # the text is kept
        assert Comment.objects.count() == 5

    def test_missing_csrf_token(self, post, trusted):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Forged"})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert not Comment.objects.exists()

    def test_closed_post(self, client, trusted):
        post = PostFactory(comments_mode="closed")
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "Hi"})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "Comments are closed" in response.content.decode()
        assert not Comment.objects.exists()

    def test_off_post(self, client, trusted):
        post = PostFactory(comments_mode="off")
        client.force_login(trusted)
        assert client.post(create_url(post), {"body": "Hi"}).status_code == 404
        assert not Comment.objects.exists()

    def test_get_on_create_is_not_allowed(self, client, post):
        assert client.get(create_url(post)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


class TestOwnComments:
    def test_edit_plain_and_htmx(self, client, post, trusted):
        comment = CommentFactory(post=post, author=trusted, body="Frist")
        client.force_login(trusted)
        url = reverse("comments:edit", kwargs={"pk": comment.pk})
        assert client.get(url).status_code == HTTPStatus.OK
        response = client.post(url, {"body": "First"})
        assert response.status_code == HTTPStatus.FOUND
        response = client.post(url, {"body": "First, really"}, **HTMX)
        html = response.content.decode()
        assert html.lstrip().startswith(f'<article id="comment-{comment.pk}"')
        assert "First, really" in html
        assert "(edited)" in html

    def test_edit_after_the_window(self, client, post, trusted):
        comment = CommentFactory(
            post=post, author=trusted, created_at=timezone.now() - timedelta(minutes=20)
        )
        client.force_login(trusted)
        url = reverse("comments:edit", kwargs={"pk": comment.pk})
        response = client.post(url, {"body": "Late"})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "15 minutes" in response.content.decode()
        assert "edit-" not in page_html(client, post).split('id="comments"')[1]

    def test_edit_someone_elses(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other, body="Theirs")
        client.force_login(trusted)
        url = reverse("comments:edit", kwargs={"pk": comment.pk})
        assert client.post(url, {"body": "Mine now"}).status_code == HTTPStatus.FORBIDDEN
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN
        comment.refresh_from_db()
        assert comment.body == "Theirs"

    def test_edit_with_empty_text_keeps_the_comment(self, client, post, trusted):
        comment = CommentFactory(post=post, author=trusted, body="Keep me")
        client.force_login(trusted)
        url = reverse("comments:edit", kwargs={"pk": comment.pk})
        response = client.post(url, {"body": ""}, **HTMX)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response["HX-Retarget"] == f"#edit-{comment.pk}"
        comment.refresh_from_db()
        assert comment.body == "Keep me"

    def test_delete_htmx_shows_placeholder(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=trusted, body="Regret")
        CommentFactory(post=post, parent=comment, author=other, body="Answer")
        client.force_login(trusted)
        url = reverse("comments:delete", kwargs={"pk": comment.pk})
        response = client.post(url, **HTMX)
        assert "This comment was deleted." in response.content.decode()
        html = page_html(client, post)
        assert "Regret" not in html and "Answer" in html

    def test_delete_someone_elses(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        response = client.post(reverse("comments:delete", kwargs={"pk": comment.pk}))
        assert response.status_code == HTTPStatus.FORBIDDEN
        comment.refresh_from_db()
        assert not comment.is_deleted


class TestLikesAndReports:
    def test_like_and_unlike(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        url = reverse("comments:like", kwargs={"pk": comment.pk})
        response = client.post(url, {"action": "like"}, **HTMX)
        html = response.content.decode()
        assert 'aria-pressed="true"' in html
        assert '<span class="like-count">1</span>' in html
        # The same request again (a double click) changes nothing.
        client.post(url, {"action": "like"}, **HTMX)
        assert CommentLike.objects.count() == 1
        response = client.post(url, {"action": "unlike"})
        assert response.status_code == HTTPStatus.FOUND
        comment.refresh_from_db()
        assert comment.like_count == 0

    def test_report_plain_and_htmx(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        url = reverse("comments:report", kwargs={"pk": comment.pk})
        assert client.get(url).status_code == HTTPStatus.OK
        response = client.post(url, {"reason": "spam", "details": "Link farm"}, **HTMX)
        assert "Thanks for the report" in response.content.decode()
        report = CommentReport.objects.get()
        assert (report.reason, report.details, report.reporter) == ("spam", "Link farm", trusted)
        again = client.post(url, {"reason": "abuse"})
        assert again.status_code == HTTPStatus.CONFLICT
        assert "already reported" in again.content.decode()

    def test_report_needs_a_reason(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        url = reverse("comments:report", kwargs={"pk": comment.pk})
        response = client.post(url, {"reason": "nonsense"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        response = client.post(url, {"reason": "other"})
        assert "Tell the editors what is wrong." in response.content.decode()
        assert not CommentReport.objects.exists()


class TestMalformedRequests:
    def test_null_character_in_text(self, client, post, trusted):
        client.force_login(trusted)
        response = client.post(create_url(post), {"body": "a\x00b"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert not Comment.objects.exists()

    @pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
    def test_out_of_range_ids_are_404(self, client, post, trusted, pk):
        client.force_login(trusted)
        assert client.get(f"/p/{post.slug}/comments/{pk}/").status_code == 404
        assert client.post(f"/comments/{pk}/like/", {"action": "like"}).status_code == 404
        assert client.post(f"/comments/{pk}/edit/", {"body": "x"}).status_code == 404

    def test_unknown_post(self, client, trusted):
        client.force_login(trusted)
        response = client.post("/p/no-such-post/comments/new/", {"body": "Hello"})
        assert response.status_code == 404
        assert not Comment.objects.exists()
