"""The Content API as a caller meets it: what it reads, what it refuses, and how it pages."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Subscription, User
from integrations.models import ApiKey
from newsletter.models import Newsletter
from posts.models import Post
from tests.factories import (
    EditorFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
    ensure_default_newsletter,
)

pytestmark = pytest.mark.django_db

GATED_BODY = (
    '<p>Everyone reads this opening.</p><hr class="more"><p>Only subscribers read this.</p>'
)


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def gated_post(db):
    author = EditorFactory(display_name="Ada Writer", email="ada@futureforward.example")
    post = PostFactory(slug="members-only", audience=Post.Audience.SUBSCRIBERS, body=GATED_BODY)
    post.authors.add(author)
    return post


def test_anonymous_reader_gets_the_public_part_of_a_subscribers_only_post(client, gated_post):
    response = client.get("/api/v1/posts/members-only")
    assert response.status_code == HTTPStatus.OK
    data = response.json()
    assert "Everyone reads this opening." in data["body_html"]
    assert "Only subscribers" not in data["body_html"]
    assert data["is_complete"] is False
    assert data["daily_takeaway"] == ""


def test_key_with_posts_full_reads_the_whole_post(client, gated_post, make_key):
    _, key = make_key(ApiKey.Scope.POSTS_FULL)
    data = client.get("/api/v1/posts/members-only", **bearer(key)).json()
    assert "Only subscribers read this." in data["body_html"]
    assert data["is_complete"] is True


def test_key_without_the_scope_gets_the_public_part_like_anyone(client, gated_post, make_key):
    _, key = make_key()
    data = client.get("/api/v1/posts/members-only", **bearer(key)).json()
    assert "Only subscribers" not in data["body_html"]


def test_drafts_and_scheduled_posts_are_not_listed(client):
    PostFactory(slug="live", title="Live post")
    PostFactory(slug="draft", status=Post.Status.DRAFT, published_at=None)
    PostFactory(slug="later", published_at=timezone.now() + timedelta(days=1))
    data = client.get("/api/v1/posts").json()
    assert [item["slug"] for item in data["items"]] == ["live"]
    assert client.get("/api/v1/posts/draft").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/api/v1/posts/later").status_code == HTTPStatus.NOT_FOUND


def test_authors_show_public_names_and_never_an_email(client, gated_post):
    response = client.get("/api/v1/authors")
    assert response.json()["items"][0]["name"] == "Ada Writer"
    post = client.get("/api/v1/posts").content.decode()
    assert "@" not in response.content.decode()
    assert "ada@" not in post


def test_readers_who_never_wrote_are_not_authors(client, gated_post, subscriber):
    names = [item["name"] for item in client.get("/api/v1/authors").json()["items"]]
    assert names == ["Ada Writer"]


def test_filter_by_tag_and_date_range(client):
    climate = TagFactory(slug="climate", name="Climate")
    old = PostFactory(slug="old", published_at=timezone.now() - timedelta(days=40))
    new = PostFactory(slug="new")
    PostFactory(slug="untagged")
    old.tags.add(climate)
    new.tags.add(climate)
    tagged = client.get("/api/v1/posts", {"tag": "climate"}).json()
    assert sorted(item["slug"] for item in tagged["items"]) == ["new", "old"]
    since = (timezone.now() - timedelta(days=10)).date().isoformat()
    recent = client.get("/api/v1/posts", {"tag": "climate", "published_from": since}).json()
    assert [item["slug"] for item in recent["items"]] == ["new"]
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    older = client.get("/api/v1/posts", {"published_to": until}).json()
    assert [item["slug"] for item in older["items"]] == ["old"]
    tags = client.get("/api/v1/tags").json()["items"]
    assert tags[0]["slug"] == "climate"


def test_pages_follow_each_other(client):
    for number in range(5):
        PostFactory(published_at=timezone.now() - timedelta(hours=number + 1))
    first = client.get("/api/v1/posts", {"page_size": 2}).json()
    assert first["count"] == 5 and len(first["items"]) == 2 and first["next_page"] == 2
    last = client.get("/api/v1/posts", {"page_size": 2, "page": 3}).json()
    assert len(last["items"]) == 1 and last["next_page"] is None
    seen = {
        item["id"]
        for page in (1, 2, 3)
        for item in client.get("/api/v1/posts", {"page_size": 2, "page": page}).json()["items"]
    }
    assert len(seen) == 5


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": 1_000_000},
        {"page": 0},
        {"published_from": "last tuesday"},
        {"published_to": "2024-13-45"},
        {"tag": "no spaces; or quotes'"},
    ],
)
def test_bad_query_is_a_clear_422(client, query):
    PostFactory()
    response = client.get("/api/v1/posts", query)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    field = next(iter(query))
    assert field in str(response.json()["detail"])


def test_newsletters_lists_only_those_readers_may_choose(client):
    ensure_default_newsletter()
    Newsletter.objects.update(position=5)
    Newsletter.objects.create(
        name="Weekly digest", slug="weekly", description="Sundays.", position=1, is_default=False
    )
    Newsletter.objects.create(name="Old series", slug="old", is_archived=True)
    Newsletter.objects.create(name="Staff only", slug="staff", is_choosable=False)
    response = client.get("/api/v1/newsletters")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert [item["slug"] for item in body["items"]] == ["weekly", "newsletter"]
    assert body["items"][0] == {
        "slug": "weekly",
        "name": "Weekly digest",
        "description": "Sundays.",
        "is_default": False,
    }
    assert body["count"] == 2 and body["next_page"] is None
    second = client.get("/api/v1/newsletters", {"page_size": 1, "page": 2}).json()
    assert [item["slug"] for item in second["items"]] == ["newsletter"]


def test_newsletters_answer_304_until_one_changes(client):
    newsletter = ensure_default_newsletter()
    etag = client.get("/api/v1/newsletters")["ETag"]
    again = client.get("/api/v1/newsletters", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    newsletter.is_archived = True
    newsletter.save()
    changed = client.get("/api/v1/newsletters", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == HTTPStatus.OK
    assert changed.json()["items"] == []


def test_newsletters_refuse_a_bad_key_and_a_huge_page(client):
    forged = {"HTTP_AUTHORIZATION": "Bearer ffk_000000000000_" + "x" * 43}
    response = client.get("/api/v1/newsletters", **forged)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Invalid API key."}
    huge = client.get("/api/v1/newsletters", {"page_size": 101})
    assert huge.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "page_size" in str(huge.json()["detail"])


def test_etag_answers_304_until_something_changes(client):
    post = PostFactory(title="First title")
    response = client.get("/api/v1/posts")
    etag = response["ETag"]
    again = client.get("/api/v1/posts", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert again.content == b""
    post.title = "A new title"
    post.save()
    changed = client.get("/api/v1/posts", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == HTTPStatus.OK
    assert changed.json()["items"][0]["title"] == "A new title"


@pytest.mark.parametrize("kind", ["revoked", "forged", "altered", "not bearer"])
def test_bad_keys_get_the_same_401(client, make_key, kind):
    row, key = make_key(ApiKey.Scope.POSTS_FULL)
    PostFactory()
    header = {
        "revoked": f"Bearer {key}",
        "forged": "Bearer ffk_000000000000_" + "x" * 43,
        "altered": f"Bearer {key[:-2]}zz",
        "not bearer": f"Basic {key}",
    }[kind]
    if kind == "revoked":
        ApiKey.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    response = client.get("/api/v1/posts", HTTP_AUTHORIZATION=header)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Invalid API key."}


def test_a_key_is_stored_hashed(make_key):
    row, key = make_key()
    row.refresh_from_db()
    assert key not in (row.key_hash, row.lookup)
    assert key.split("_", 2)[2] not in row.key_hash
    assert ApiKey.objects.authenticate(key) == row


def test_rate_limit_per_address(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "api": "3/m/ip"}
    statuses = [client.get("/api/v1/tags").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_wrong_keys_count_against_the_address(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "api": "2/m/ip"}
    forged = {"HTTP_AUTHORIZATION": "Bearer ffk_000000000000_" + "x" * 43}
    statuses = [client.get("/api/v1/tags", **forged).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_rate_limit_per_key_is_the_keys_own(client, settings, make_key):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "api": "1/m/ip",
        "api_key": "3/m/key",
    }
    _, key = make_key()
    _, other = make_key(name="Other")
    statuses = [client.get("/api/v1/tags", **bearer(key)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/tags", **bearer(other)).status_code == HTTPStatus.OK


class TestCors:
    def test_listed_origin_is_allowed(self, client, settings):
        settings.API_CORS_ORIGINS = ["https://shop.example"]
        response = client.get("/api/v1/tags", HTTP_ORIGIN="https://shop.example")
        assert response["Access-Control-Allow-Origin"] == "https://shop.example"
        preflight = client.options(
            "/api/v1/posts",
            HTTP_ORIGIN="https://shop.example",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        )
        assert preflight.status_code == HTTPStatus.NO_CONTENT
        assert "Authorization" in preflight["Access-Control-Allow-Headers"]

    def test_unlisted_origin_gets_no_cors_and_cannot_write(self, client, settings, make_key):
        settings.API_CORS_ORIGINS = ["https://shop.example"]
        response = client.get("/api/v1/tags", HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in response
        preflight = client.options(
            "/api/v1/subscriptions",
            HTTP_ORIGIN="https://evil.example",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        )
        assert preflight.status_code == HTTPStatus.FORBIDDEN
        assert "Access-Control-Allow-Origin" not in preflight
        _, key = make_key(ApiKey.Scope.SUBSCRIBERS_WRITE)
        write = client.post(
            "/api/v1/subscriptions",
            {"email": "new@example.com"},
            content_type="application/json",
            HTTP_ORIGIN="https://evil.example",
            **bearer(key),
        )
        assert write.status_code == HTTPStatus.FORBIDDEN
        assert "evil.example" in write.json()["detail"]
        assert not User.objects.filter(email="new@example.com").exists()


class TestSubscriptions:
    @pytest.fixture(autouse=True)
    def _run_on_commit(self, django_capture_on_commit_callbacks):
        self.capture = django_capture_on_commit_callbacks

    def post(self, client, key, email):
        """Ask for a subscription; the tasks it leaves for after the commit run too."""
        with self.capture(execute=True):
            return client.post(
                "/api/v1/subscriptions",
                {"email": email},
                content_type="application/json",
                **bearer(key),
            )

    def test_creates_a_pending_subscription_and_mails_a_confirmation(
        self, client, make_key, mailoutbox
    ):
        _, key = make_key(ApiKey.Scope.SUBSCRIBERS_WRITE)
        response = self.post(client, key, "  New.Reader@Example.com ")
        assert response.status_code == HTTPStatus.ACCEPTED
        subscription = Subscription.objects.get(user__email="new.reader@example.com")
        assert subscription.status == Subscription.Status.PENDING
        assert [m.to for m in mailoutbox] == [["new.reader@example.com"]]
        link = next(
            line for line in mailoutbox[0].body.splitlines() if "/subscribe/confirm/" in line
        )
        path = link.strip().removeprefix("http://testserver")
        # Opening the link (a mail scanner does) changes nothing; the button confirms.
        assert client.get(path).status_code == HTTPStatus.OK
        subscription.refresh_from_db()
        assert subscription.status == Subscription.Status.PENDING
        page = client.post(path)
        assert b"subscribed" in page.content
        subscription.refresh_from_db()
        assert subscription.status == Subscription.Status.ACTIVE
        assert EmailAddress.objects.get(email="new.reader@example.com").verified
        # Opening the link again says so instead of asking again.
        assert b"You're subscribed" in client.get(path).content

    def test_never_reactivates_anyone(self, client, make_key, mailoutbox):
        _, key = make_key(ApiKey.Scope.SUBSCRIBERS_WRITE)
        bounced = SubscriptionFactory(status=Subscription.Status.BOUNCED)
        active = SubscriptionFactory()
        for subscription in (bounced, active):
            assert self.post(client, key, subscription.user.email).status_code == 202
        bounced.refresh_from_db()
        assert bounced.status == Subscription.Status.BOUNCED
        assert mailoutbox == []

    def test_key_without_the_scope_is_refused(self, client, make_key):
        _, key = make_key(ApiKey.Scope.POSTS_FULL)
        response = self.post(client, key, "new@example.com")
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "subscribers:write" in response.json()["detail"]
        assert not User.objects.filter(email="new@example.com").exists()

    def test_no_key_is_refused(self, client):
        response = client.post(
            "/api/v1/subscriptions", {"email": "new@example.com"}, content_type="application/json"
        )
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert not User.objects.filter(email="new@example.com").exists()

    def test_look_alike_address_is_refused(self, client, make_key):
        _, key = make_key(ApiKey.Scope.SUBSCRIBERS_WRITE)
        response = self.post(client, key, "reader@exаmple.com")  # Cyrillic а
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
        assert response.json()["detail"]
        assert not User.objects.exists()

    def test_forged_confirmation_link_does_nothing(self, client, make_key):
        _, key = make_key(ApiKey.Scope.SUBSCRIBERS_WRITE)
        self.post(client, key, "new@example.com")
        user = User.objects.get(email="new@example.com")
        response = client.post(f"/subscribe/confirm/{user.pk}:forged:sig/")
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert Subscription.objects.get(user=user).status == Subscription.Status.PENDING
