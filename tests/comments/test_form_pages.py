"""Reply and Report load on demand: a post page carries links, not a form under every comment.
Each link opens a page with the one form (no JavaScript) or, with htmx, the form alone."""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, Commenter, CommentReport
from tests.comments.test_queries import build
from tests.factories import CommentFactory, PostFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def reply_url(comment):
    return reverse("comments:reply", kwargs={"pk": comment.pk})


def report_url(comment):
    return reverse("comments:report", kwargs={"pk": comment.pk})


@pytest.fixture
def banned(db):
    user = SubscriptionFactory().user
    Commenter.objects.create(user=user, is_banned=True, ban_reason="Selling pills")
    return user


class TestPostPageWeight:
    def test_fifty_comments_carry_links_not_forms(self, client, trusted, settings):
        settings.POSTS_PAGE_CACHE_SECONDS = 0
        post = PostFactory()
        build(post, 50, [UserFactory() for _ in range(5)])
        client.force_login(trusted)
        html = client.get(post.get_absolute_url()).content.decode()
        shown = html.count('<article id="comment-')
        assert shown > 30
        # One text box: the new-comment form. No reply or report form is on the page.
        assert html.count("<textarea") == 1
        assert 'name="reason"' not in html
        # Each comment keeps its small like form and gets two plain links.
        assert html.count('class="like-form"') == shown
        assert html.count("<form") <= shown + 3
        assert len(re.findall(r'href="/comments/\d+/reply/"', html)) == shown
        assert len(re.findall(r'href="/comments/\d+/report/"', html)) == shown

    def test_readers_who_may_not_write_get_no_reply_links(self, client, post, other, banned):
        CommentFactory(post=post, author=other, body="Something to answer")
        for user in (None, UserFactory(verified=False), banned):
            client.logout()
            if user:
                client.force_login(user)
            html = client.get(post.get_absolute_url()).content.decode()
            assert "Something to answer" in html
            assert "/reply/" not in html
        assert "Selling pills" in html  # the banned reader is told why

    def test_own_comment_has_reply_but_no_report_link(self, client, post, trusted):
        mine = CommentFactory(post=post, author=trusted)
        client.force_login(trusted)
        html = client.get(post.get_absolute_url()).content.decode()
        assert f'href="{reply_url(mine)}"' in html
        assert f'href="{report_url(mine)}"' not in html
        assert f'id="edit-{mine.pk}"' in html  # edit and delete stay inline on one's own


class TestReplyPage:
    def test_shows_the_comment_and_a_form_that_posts_the_reply(self, client, post, trusted):
        parent = CommentFactory(post=post, body="Trams are underrated.")
        client.force_login(trusted)
        response = client.get(reply_url(parent))
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert "<html" in html
        assert "Trams are underrated." in html
        assert f"In reply to {parent.author.public_name}" in html
        create = reverse("comments:create", kwargs={"slug": post.slug})
        assert f'action="{create}"' in html
        assert f'name="parent" value="{parent.pk}"' in html
        assert 'for="comment-body-page">Your reply<' in html
        assert "HX-Request" in response["Vary"]

        response = client.post(create, {"body": "They are.", "parent": parent.pk})
        reply = Comment.objects.get(parent=parent)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].endswith(f"#comment-{reply.pk}")

    def test_htmx_gets_the_form_alone_with_the_focus_in_it(self, client, post, trusted):
        parent = CommentFactory(post=post)
        client.force_login(trusted)
        response = client.get(reply_url(parent), **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert html.lstrip().startswith(f'<div id="reply-{parent.pk}" class="form-slot">')
        assert "<html" not in html
        assert re.search(r"<textarea[^>]*name=\"body\"[^>]*autofocus", html)
        assert f'hx-target="#replies-{parent.pk}"' in html

    def test_htmx_reply_posted_empties_the_slot(self, client, post, trusted):
        parent = CommentFactory(post=post)
        client.force_login(trusted)
        create = reverse("comments:create", kwargs={"slug": post.slug})
        response = client.post(create, {"body": "Agreed.", "parent": parent.pk}, **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.CREATED
        assert (
            f'<div id="reply-{parent.pk}" class="form-slot" data-hx-swap-oob="true"></div>' in html
        )

    def test_htmx_refused_reply_comes_back_with_the_text(self, client, post, trusted):
        parent = CommentFactory(post=post)
        client.force_login(trusted)
        create = reverse("comments:create", kwargs={"slug": post.slug})
        text = "x" * 5001
        response = client.post(create, {"body": text, "parent": parent.pk}, **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response["HX-Retarget"] == f"#reply-{parent.pk}"
        assert html.lstrip().startswith(f'<div id="reply-{parent.pk}" class="form-slot">')
        assert "at most 5000 characters" in html
        assert text in html

    def test_anonymous_reader_is_sent_to_log_in_and_back(self, client, post):
        parent = CommentFactory(post=post)
        response = client.get(reply_url(parent))
        assert response.status_code == HTTPStatus.FOUND
        login = reverse("account_request_login_code")
        assert response["Location"] == f"{login}?next=/comments/{parent.pk}/reply/"

    def test_unverified_reader_is_asked_to_confirm(self, client, post):
        parent = CommentFactory(post=post)
        client.force_login(UserFactory(verified=False))
        response = client.get(reply_url(parent))
        html = response.content.decode()
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "Confirm your email address to join the discussion." in html
        assert f'href="{reverse("account_email")}"' in html
        assert 'name="body"' not in html

    def test_banned_reader_is_refused_with_the_reason(self, client, post, banned):
        parent = CommentFactory(post=post)
        client.force_login(banned)
        for extra in ({}, HTMX):
            response = client.get(reply_url(parent), **extra)
            html = response.content.decode()
            assert response.status_code == HTTPStatus.FORBIDDEN
            assert "suspended your commenting" in html and "Selling pills" in html
            assert 'name="body"' not in html
        assert response["X-Reader-Error"] == "1"  # site.js swaps it in place

    def test_closed_post(self, client, trusted):
        parent = CommentFactory(post=PostFactory(comments_mode="closed"))
        client.force_login(trusted)
        response = client.get(reply_url(parent))
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "Comments are closed for this post." in response.content.decode()

    @pytest.mark.parametrize(
        "post_kwargs",
        [{"status": "draft", "published_at": None}, {"comments_mode": "off"}],
        ids=["draft", "comments-off"],
    )
    def test_comment_on_a_post_that_is_not_visible_is_404(self, client, trusted, post_kwargs):
        parent = CommentFactory(post=PostFactory(**post_kwargs))
        client.force_login(trusted)
        assert client.get(reply_url(parent)).status_code == HTTPStatus.NOT_FOUND
        assert client.get(report_url(parent)).status_code == HTTPStatus.NOT_FOUND

    @pytest.mark.parametrize("state", ["removed", "someone-elses-held", "deleted"])
    def test_gone_or_waiting_comment_cannot_be_replied_to(self, client, post, trusted, state):
        fields = {
            "removed": {"status": "removed"},
            "someone-elses-held": {"status": "held"},
            "deleted": {"deleted_at": timezone.now()},
        }[state]
        parent = CommentFactory(post=post, body="Not for replies", **fields)
        client.force_login(trusted)
        for extra in ({}, HTMX):
            response = client.get(reply_url(parent), **extra)
            assert response.status_code == HTTPStatus.NOT_FOUND
            assert "Not for replies" not in response.content.decode()

    def test_own_comment_awaiting_review_says_why(self, client, post, trusted):
        mine = CommentFactory(post=post, author=trusted, status="held")
        client.force_login(trusted)
        response = client.get(reply_url(mine))
        assert response.status_code == HTTPStatus.CONFLICT
        assert "awaiting review" in response.content.decode()
        assert 'name="body"' not in response.content.decode()

    def test_only_get(self, client, post, trusted):
        parent = CommentFactory(post=post)
        client.force_login(trusted)
        response = client.post(reply_url(parent), {"body": "Here?"})
        assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
        assert not Comment.objects.filter(parent=parent).exists()


class TestReportPage:
    def test_page_and_fragment(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other, body="Buy cheap things")
        client.force_login(trusted)
        page = client.get(report_url(comment)).content.decode()
        assert "<html" in page and "Buy cheap things" in page
        assert "Spam or advertising" in page
        assert "autofocus" not in page  # a page of its own reads from the top
        response = client.get(report_url(comment), **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert html.lstrip().startswith(f'<div id="report-{comment.pk}" class="form-slot">')
        assert "<html" not in html
        assert re.search(r'name="reason" value="spam"[^>]*autofocus', html)

    def test_plain_report_goes_back_to_the_comment(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        response = client.post(report_url(comment), {"reason": "spam"})
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == comment.get_absolute_url()
        assert CommentReport.objects.filter(comment=comment, reporter=trusted).exists()

    def test_htmx_refused_report_keeps_the_details(self, client, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        client.force_login(trusted)
        response = client.post(report_url(comment), {"details": "Keep me"}, **HTMX)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response["HX-Retarget"] == f"#report-{comment.pk}"
        assert "Choose a reason for the report." in html
        assert "Keep me" in html

    def test_who_may_not_report_is_told_before_filling_the_form(
        self, client, post, trusted, other, banned
    ):
        theirs = CommentFactory(post=post, author=other)
        cases = [
            (UserFactory(verified=False), theirs, HTTPStatus.FORBIDDEN, "Confirm your email"),
            (banned, theirs, HTTPStatus.FORBIDDEN, "suspended your commenting"),
            (trusted, CommentFactory(post=post, author=trusted), HTTPStatus.BAD_REQUEST, "own"),
            (trusted, CommentFactory(post=post, status="removed"), HTTPStatus.NOT_FOUND, "not"),
        ]
        for user, comment, status, message in cases:
            client.force_login(user)
            response = client.get(report_url(comment))
            html = response.content.decode()
            assert response.status_code == status, user
            assert message in html
            assert 'name="reason"' not in html
