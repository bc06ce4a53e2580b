"""Who may do what: every comment URL and method, for each kind of visitor."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from comments.models import Comment, Commenter, CommentLike, CommentReport
from comments.services import stop_token
from tests.factories import CommentFactory, EditorFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "unverified", "subscriber", "banned", "staff"]


@pytest.fixture
def as_role(client, post):
    """Log the client in as the given kind of visitor and return that user (None: anonymous)."""

    def login(role):
        if role == "anonymous":
            return None
        if role == "unverified":
            user = UserFactory(verified=False)
        elif role == "staff":
            user = EditorFactory()
        else:
            user = SubscriptionFactory().user
        Commenter.objects.create(user=user, is_trusted=True, is_banned=role == "banned")
        client.force_login(user)
        return user

    return login


@pytest.fixture
def someone_elses(post):
    return CommentFactory(post=post, body="Someone else's words")


LOGIN = "login"  # redirected to the login page

# (name, method, url builder, data, expected status per role)
MATRIX = [
    ("read post", "get", lambda p, c: p.get_absolute_url(), None, [200, 200, 200, 200, 200]),
    (
        "read thread",
        "get",
        lambda p, c: reverse("comments:thread", kwargs={"slug": p.slug, "pk": c.pk}),
        None,
        [200, 200, 200, 200, 200],
    ),
    (
        "post comment",
        "post",
        lambda p, c: reverse("comments:create", kwargs={"slug": p.slug}),
        {"body": "Hello"},
        [403, 403, 302, 403, 302],
    ),
    (
        "reply",
        "post",
        lambda p, c: reverse("comments:create", kwargs={"slug": p.slug}),
        {"body": "Hello", "parent": "{c}"},
        [403, 403, 302, 403, 302],
    ),
    (
        "like",
        "post",
        lambda p, c: reverse("comments:like", kwargs={"pk": c.pk}),
        {"action": "like"},
        [403, 403, 302, 403, 302],
    ),
    (
        "report",
        "post",
        lambda p, c: reverse("comments:report", kwargs={"pk": c.pk}),
        {"reason": "spam"},
        [LOGIN, 403, 302, 403, 302],
    ),
    (
        "edit someone else's",
        "post",
        lambda p, c: reverse("comments:edit", kwargs={"pk": c.pk}),
        {"body": "Changed"},
        [LOGIN, 403, 403, 403, 403],
    ),
    (
        "delete someone else's",
        "post",
        lambda p, c: reverse("comments:delete", kwargs={"pk": c.pk}),
        {},
        [LOGIN, 403, 403, 403, 403],
    ),
    (
        "wrong method on create",
        "put",
        lambda p, c: reverse("comments:create", kwargs={"slug": p.slug}),
        None,
        [405, 405, 405, 405, 405],
    ),
    (
        "wrong method on like",
        "get",
        lambda p, c: reverse("comments:like", kwargs={"pk": c.pk}),
        None,
        [405, 405, 405, 405, 405],
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "url", "data", "expected"), MATRIX, ids=[row[0] for row in MATRIX]
)
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
def test_matrix(
    client, post, as_role, someone_elses, name, method, url, data, expected, role_index
):
    user = as_role(ROLES[role_index])
    before = (
        Comment.objects.count(),
        CommentLike.objects.count(),
        CommentReport.objects.count(),
        Comment.objects.get(pk=someone_elses.pk).body,
    )
    if data:
        data = {k: v.format(c=someone_elses.pk) for k, v in data.items()}
    response = getattr(client, method)(url(post, someone_elses), data or None)
    want = expected[role_index]
    if want == LOGIN:
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_request_login_code"))
    else:
        assert response.status_code == want, response.content.decode()[:500]
    after = (
        Comment.objects.count(),
        CommentLike.objects.count(),
        CommentReport.objects.count(),
        Comment.objects.get(pk=someone_elses.pk).body,
    )
    if want in {302} and method == "post":
        assert after != before, "an allowed change must change something"
    else:
        assert after == before, f"{name} by {ROLES[role_index]} changed data"
    if user is not None and want == 403:
        assert response.content  # a message, not an empty page


@pytest.mark.parametrize(
    ("role", "edit", "delete"),
    [("subscriber", 302, 302), ("banned", 403, 302), ("staff", 302, 302)],
)
def test_own_comment(client, post, as_role, role, edit, delete):
    """Everyone may delete their own words; only those who may write may edit them."""
    user = as_role(role)
    comment = CommentFactory(post=post, author=user, body="Original")
    response = client.post(reverse("comments:edit", kwargs={"pk": comment.pk}), {"body": "New"})
    assert response.status_code == edit
    response = client.post(reverse("comments:delete", kwargs={"pk": comment.pk}))
    assert response.status_code == delete


@pytest.mark.parametrize("role", ROLES)
def test_stop_link_works_for_whoever_holds_it(client, as_role, role, subscriber):
    as_role(role)
    url = reverse("comments:stop-replies", kwargs={"token": stop_token(user=subscriber)})
    assert client.get(url).status_code == HTTPStatus.OK
    assert client.post(url).status_code == HTTPStatus.OK


def test_banned_reader_sees_why(client, post, editor):
    user = SubscriptionFactory().user
    Commenter.objects.create(user=user, is_banned=True, ban_reason="Spamming links")
    client.force_login(user)
    html = client.get(post.get_absolute_url()).content.decode()
    assert "suspended your commenting" in html
    assert "Spamming links" in html
    assert 'name="body"' not in html


def test_unverified_reader_is_asked_to_confirm(client, post):
    client.force_login(UserFactory(verified=False))
    html = client.get(post.get_absolute_url()).content.decode()
    assert "Confirm your email address to join the discussion." in html
