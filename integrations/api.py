"""The Content API: read-only JSON for published posts, tags, authors and the newsletters
readers may choose at /api/v1/, and one
write, a pending subscription for keys with the subscribers:write scope.

Anyone may read what the site shows anyone: a subscribers-only post comes with its public part
(the opening before the "continue reading" cut), as on the site, unless the key has the
posts:full scope. A call with a key is counted against the key's rate limit, a call without one
against the caller's address. A key that is unknown, forged or revoked gets the same 401, which
never says which part was wrong.
"""

from datetime import date, datetime

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer

from accounts import addresses, ratelimits
from accounts.models import User
from integrations import services
from integrations.models import ApiKey
from newsletter.models import Newsletter
from posts.models import Post, Tag

SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,200}$"
MAX_PAGE_SIZE = 100
# Optional key: the schema says a call may carry the bearer key or nothing at all.
OPTIONAL_KEY = {"security": [{"ApiKeyAuth": []}, {}]}


class InvalidKey(Exception):
    """An Authorization header that names no live key."""


class RateLimited(Exception):
    """Too many calls for this key or address."""


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`. Any Authorization header that is not a live key is a 401:
    a wrong key never falls back to reading anonymously."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        return self.authenticate(request, token.strip() if scheme.lower() == "bearer" else "")

    def authenticate(self, request: HttpRequest, token: str):
        key = ApiKey.objects.authenticate(token)
        if key is None:
            # Wrong keys count against the address's allowance, so guessing costs as reading.
            if not ratelimits.consume(request, action="api"):
                raise RateLimited
            raise InvalidKey
        if not ratelimits.consume(request, action="api_key", key=key.lookup):
            raise RateLimited
        services.note_key_used(key=key)
        return key


class Anonymous:
    """The caller of a read without a key."""

    def has_scope(self, scope: str) -> bool:
        return False

    def __bool__(self):
        return True


def anonymous(request: HttpRequest):
    if not ratelimits.consume(request, action="api"):
        raise RateLimited
    return Anonymous()


api_key = ApiKeyAuth()

api = NinjaAPI(
    # Fixed when the module loads, before any database: the publication's name (Settings in
    # the admin) can change at any time, so the schema does not carry it.
    title="Content API",
    version="1",
    description=__doc__,
    urls_namespace="api",
    # The interactive docs page loads scripts from a CDN, which the site's CSP refuses; the
    # schema itself is at /api/v1/openapi.json.
    docs_url=None,
)


class Message(Schema):
    detail: str


@api.exception_handler(InvalidKey)
def invalid_key(request, exc):
    response = api.create_response(request, {"detail": "Invalid API key."}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(RateLimited)
def rate_limited(request, exc):
    response = api.create_response(
        request, {"detail": "Too many requests. Try again in a minute."}, status=429
    )
    response["Retry-After"] = "60"
    return response


# --- Schemas ---


class TagOut(Schema):
    slug: str
    name: str
    description: str
    url: str


class AuthorOut(Schema):
    id: int
    name: str = Field(description="The public name the site shows; never an email address.")
    bio: str
    url: str


class CoverOut(Schema):
    url: str
    width: int | None
    height: int | None
    alt: str


class PostOut(Schema):
    id: int
    slug: str
    title: str
    subtitle: str
    url: str
    published_at: datetime
    updated_at: datetime
    audience: str = Field(description="`everyone` or `subscribers`.")
    is_complete: bool = Field(
        description="False when body_html is only the public opening of a subscribers-only post."
    )
    body_html: str
    daily_takeaway: str
    reading_minutes: int
    cover: CoverOut | None
    tags: list[TagOut]
    authors: list[AuthorOut]


class NewsletterOut(Schema):
    slug: str
    name: str
    description: str
    is_default: bool = Field(description="New subscribers get it unless they untick it.")


class Page(Schema):
    count: int = Field(description="Items matching, on every page.")
    page: int
    page_size: int
    next_page: int | None


class PostPage(Page):
    items: list[PostOut]


class TagPage(Page):
    items: list[TagOut]


class AuthorPage(Page):
    items: list[AuthorOut]


class NewsletterPage(Page):
    items: list[NewsletterOut]


class Paging(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class PostFilters(Paging):
    tag: str | None = Field(None, pattern=SLUG_PATTERN, description="A tag's slug.")
    published_from: date | None = Field(None, description="On or after this day (UTC).")
    published_to: date | None = Field(None, description="On or before this day (UTC).")


class SubscriptionIn(Schema):
    email: str = Field(
        max_length=254,
        json_schema_extra={"format": "email"},
        description="Refused with a 422 that says why if it breaks the site's address rule.",
    )


# --- Rendering ---


def absolute(path: str) -> str:
    return path if path.startswith(("http://", "https://")) else f"{settings.SITE_URL}{path}"


def tag_out(tag: Tag) -> dict:
    return {
        "slug": tag.slug,
        "name": tag.name,
        "description": tag.description,
        "url": absolute(tag.get_absolute_url()),
    }


def author_out(user: User) -> dict:
    return {
        "id": user.pk,
        "name": user.public_name,
        "bio": user.bio,
        "url": absolute(f"/author/{user.pk}/"),
    }


def post_out(post: Post, caller) -> dict:
    complete = not post.is_for_subscribers or caller.has_scope(ApiKey.Scope.POSTS_FULL)
    cover = None
    if post.cover:
        cover = {
            "url": absolute(post.cover_rendition_url(1200)),
            "width": post.cover_width,
            "height": post.cover_height,
            "alt": post.cover_alt,
        }
    return {
        "id": post.pk,
        "slug": post.slug,
        "title": post.title,
        "subtitle": post.subtitle,
        "url": absolute(post.get_absolute_url()),
        "published_at": post.published_at,
        "updated_at": post.updated_at,
        "audience": post.audience,
        "is_complete": complete,
        "body_html": post.body if complete else post.body_opening,
        "daily_takeaway": post.daily_takeaway if complete else "",
        "reading_minutes": post.reading_minutes,
        "cover": cover,
        "tags": [tag_out(tag) for tag in post.tags.all()],
        "authors": [author_out(user) for user in post.author_list],
    }


def newsletter_out(newsletter: Newsletter) -> dict:
    return {
        "slug": newsletter.slug,
        "name": newsletter.name,
        "description": newsletter.description,
        "is_default": newsletter.is_default,
    }


def page_of(queryset, paging: Paging, render) -> dict:
    count = queryset.count()
    start = (paging.page - 1) * paging.page_size
    items = [render(item) for item in queryset[start : start + paging.page_size]]
    more = start + paging.page_size < count
    return {
        "count": count,
        "page": paging.page,
        "page_size": paging.page_size,
        "next_page": paging.page + 1 if more else None,
        "items": items,
    }


# --- Endpoints ---

READ = {"auth": [api_key, anonymous], "openapi_extra": OPTIONAL_KEY}


@api.get("/posts", response={200: PostPage, 401: Message, 429: Message}, tags=["posts"], **READ)
def list_posts(request, filters: Query[PostFilters]):
    """Published posts, newest first."""
    posts = Post.objects.published().for_cards().order_by("-published_at", "-id")
    if filters.tag:
        posts = posts.filter(tags__slug=filters.tag)
    if filters.published_from:
        posts = posts.filter(published_at__date__gte=filters.published_from)
    if filters.published_to:
        posts = posts.filter(published_at__date__lte=filters.published_to)
    return page_of(posts, filters, lambda post: post_out(post, request.auth))


@api.get(
    "/posts/{slug}",
    response={200: PostOut, 401: Message, 404: Message, 429: Message},
    tags=["posts"],
    **READ,
)
def get_post(request, slug: str = Path(..., pattern=SLUG_PATTERN)):
    """One published post by its slug."""
    post = Post.objects.published().for_cards().filter(slug=slug).first()
    if post is None:
        return Status(404, {"detail": "No published post has this slug."})
    return Status(200, post_out(post, request.auth))


@api.get("/tags", response={200: TagPage, 401: Message, 429: Message}, tags=["tags"], **READ)
def list_tags(request, paging: Query[Paging]):
    """Every tag, by name."""
    return page_of(Tag.objects.order_by("name"), paging, tag_out)


@api.get(
    "/authors", response={200: AuthorPage, 401: Message, 429: Message}, tags=["authors"], **READ
)
def list_authors(request, paging: Query[Paging]):
    """People who wrote at least one published post, by name."""
    wrote = Post.objects.published().filter(authors=OuterRef("pk"))
    authors = User.objects.filter(Exists(wrote)).order_by(Lower("display_name"), "pk")
    return page_of(authors, paging, author_out)


@api.get(
    "/newsletters",
    response={200: NewsletterPage, 401: Message, 429: Message},
    tags=["newsletters"],
    **READ,
)
def list_newsletters(request, paging: Query[Paging]):
    """The newsletters readers may choose when they subscribe, in the site's order (archived
    and editor-only newsletters are left out)."""
    return page_of(
        Newsletter.objects.choosable().order_by("position", "name", "pk"), paging, newsletter_out
    )


@api.post(
    "/subscriptions",
    response={202: Message, 401: Message, 403: Message, 422: Message, 429: Message},
    tags=["subscribers"],
    auth=api_key,
)
def create_subscription(request, data: SubscriptionIn):
    """Ask an address to subscribe (needs the subscribers:write scope).

    The address gets an email with a link to confirm; until the reader follows it the
    subscription stays pending and receives nothing. The answer is the same for an address that
    is new, pending or already subscribed.
    """
    if not request.auth.has_scope(ApiKey.Scope.SUBSCRIBERS_WRITE):
        raise HttpError(403, "This key does not have the subscribers:write scope.")
    problem = addresses.problem(data.email)
    if problem:
        return Status(422, {"detail": str(problem)})
    email = addresses.normalize(data.email)
    if not ratelimits.consume(request, action="api_subscribe", key=email):
        raise RateLimited
    services.request_subscription(email=email, source=f"api: {request.auth.name}")
    return Status(
        202, {"detail": "If the address may subscribe, a confirmation email is on its way."}
    )
