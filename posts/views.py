from functools import partial, wraps
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Exists, OuterRef, prefetch_related_objects
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
)
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from accounts import ratelimits
from accounts.models import User
from posts import pagecache, readerpages
from posts.forms import ThumbsUpForm, clean_search_query
from posts.htmx import for_reader
from posts.models import Post, Tag, ThumbsUp, card_prefetches
from posts.services import set_thumbs_up

HOME_LATEST = 9
PER_PAGE = 12
SEARCH_PER_PAGE = 10


def cacheable_when_anonymous(view=None, *, versions=None, params=()):
    """Send an ETag for anonymous GETs and answer 304 when the browser's copy is current.

    The tag is a hash of the page as rendered, so anything on it (a new comment, a poll
    result, a post going live at its scheduled time) changes it; only the per-render CSRF
    mask is left out, and the browser's CSRF secret is put in, so a kept copy always carries
    a token that still works. Pages for logged-in readers are never stored: they show the
    reader's own state.

    With `versions` (a function of the view's arguments returning the PageVersion numbers
    the page shows), the rendered page is also kept server-side for the next anonymous
    readers of the same URL, and is out of date the moment a vote, comment or thumbs up
    commits (posts/pagecache.py). `params` names the query parameters the page reads; a
    request with any other (campaign tags aside) is rendered and not kept.
    """
    if view is None:
        return partial(cacheable_when_anonymous, versions=versions, params=params)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        key = None
        if versions is not None and pagecache.storable(request, params=params):
            # Versions first, rendering second: a page is never older than its key.
            numbers = versions(*args, **kwargs)
            key = pagecache.cache_key(request, name=view.__name__, numbers=numbers)
            entry = pagecache.get(key)
            if entry is not None:
                response = pagecache.respond(request, entry)
                return _revalidated(request, response, entry.digest)
        response = view(request, *args, **kwargs)
        if request.method not in {"GET", "HEAD"} or response.status_code != HTTPStatus.OK:
            return response
        if request.user.is_authenticated:
            add_never_cache_headers(response)
            return response
        if response.streaming:
            return response
        if hasattr(response, "render") and not response.is_rendered:
            response.render()  # a TemplateResponse, e.g. the sitemap's
        digest = pagecache.content_digest(response.content)
        if key is not None:
            pagecache.store(key, request, response, digest)
        return _revalidated(request, response, digest)

    return wrapped


def cached_for_readers(*, params=()):
    """For logged-in readers of a post page: render the page once per version for each kind
    of reader, and only their own parts for each request (posts/readerpages.py). Nothing
    personal is shared: the stored copy was rendered for a stand-in who is nobody."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, slug):
            if not pagecache.storable(request, params=params, logged_in=True):
                return view(request, slug)
            # The reader and the version numbers first, rendering second.
            state = readerpages.reader_state(request, post_slug=slug)
            if state.viewer is None:
                return view(request, slug)
            name = f"detail-reader-{state.viewer.key}"
            key = pagecache.cache_key(request, name=name, numbers=state.numbers)
            entry = pagecache.get(key)
            if entry is None:
                response = readerpages.render_for_kind(
                    request, state.viewer, lambda: view(request, slug)
                )
                if response.status_code != HTTPStatus.OK:
                    return view(request, slug)  # a 404 says so to the reader, not the stand-in
                seconds = pagecache.seconds_to_keep(request)
                entry = readerpages.entry_from(request, response, seconds=seconds)
                readerpages.store(key, entry)
            filler = readerpages.Filler(request, key=key, entry=entry, state=state, slug=slug)
            return filler.response()

        return wrapped

    return decorator


def _revalidated(request, response, digest):
    """Tag response for the browser's cache; a 304 instead when its copy is current."""
    etag = pagecache.etag(digest, request)
    response.headers["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return get_conditional_response(request, etag=etag, response=response)


def _page(request, queryset, per_page=PER_PAGE):
    """Return the requested page of queryset; a page that does not exist is a 404."""
    paginator = Paginator(queryset, per_page)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        raise Http404(_("There is no such page.")) from None


@require_safe
@cacheable_when_anonymous(versions=lambda: pagecache.versions())
def home(request):
    """The lead story (the newest featured post, else the newest post) and the latest posts."""
    featured = Post.objects.featured().without_bodies().first()
    latest = Post.objects.published().without_bodies()
    if featured is not None:
        latest = latest.exclude(pk=featured.pk)
    latest = list(latest[: HOME_LATEST + (0 if featured else 1)])
    if featured is None and latest:
        featured = latest.pop(0)
    posts = [featured, *latest] if featured else []
    prefetch_related_objects(posts, *card_prefetches())
    return render(
        request,
        "posts/post_list.html",
        {"featured": featured, "posts": latest, "is_home": True},
    )


@require_safe
@cacheable_when_anonymous
def archive(request):
    """Every published post, newest first, a page at a time."""
    page = _page(request, Post.objects.published().without_bodies().for_cards())
    return render(request, "posts/archive.html", {"page": page, "posts": page.object_list})


@require_safe
@cacheable_when_anonymous
def tag(request, slug):
    """The published posts with one tag."""
    tag = get_object_or_404(Tag, slug=slug)
    page = _page(request, Post.objects.published().filter(tags=tag).without_bodies().for_cards())
    return render(
        request, "posts/tag_detail.html", {"tag": tag, "page": page, "posts": page.object_list}
    )


@require_safe
@cacheable_when_anonymous
def author(request, pk):
    """An author's profile and their published posts. Readers who never wrote have none."""
    wrote = Post.objects.published().filter(authors=OuterRef("pk"))
    person = get_object_or_404(User.objects.filter(Exists(wrote)), pk=pk)
    posts = Post.objects.published().filter(authors=person).without_bodies().for_cards()
    page = _page(request, posts)
    return render(
        request,
        "posts/author_detail.html",
        {"author": person, "page": page, "posts": page.object_list},
    )


@require_safe
@cacheable_when_anonymous
def search(request):
    """Full-text search over published posts; any input gives results or 'no results'."""
    query = clean_search_query(request.GET.get("q"))
    page = None
    if query:
        results = Post.objects.search(query).without_bodies().for_cards()
        page = _page(request, results, per_page=SEARCH_PER_PAGE)
    return render(
        request,
        "posts/search.html",
        {"query": query, "page": page, "posts": page.object_list if page else []},
    )


@require_safe
@cacheable_when_anonymous(
    versions=lambda slug: pagecache.versions(post_slug=slug),
    params=("comments_sort", "comments_page"),
)
@cached_for_readers(params=("comments_sort", "comments_page"))
def detail(request, slug):
    """One post. Staff may preview drafts and scheduled posts at the real URL."""
    post = get_object_or_404(Post.objects.for_page(request.user), slug=slug)
    return render(
        request,
        "posts/post_detail.html",
        {
            "post": post,
            "can_read": post.is_readable_by(request.user),
            "related": list(Post.objects.related_to(post)),
            # The page has its own call to action; the footer's would repeat it.
            "hide_footer_cta": True,
        },
    )


def _thumbs_up_response(request, post, *, message="", status=HTTPStatus.OK):
    """The thumbs-up box alone (htmx), or the page a plain form lands on."""
    if request.htmx:
        if not hasattr(post, "thumbs_up_count"):
            _count_thumbs_up(post, request.user)
        html = render_to_string(
            "posts/partials/_thumbs_up.html", {"post": post, "message": message}, request=request
        )
        return for_reader(HttpResponse(html, status=status))
    if status == HTTPStatus.OK:
        return redirect(f"{post.get_absolute_url()}#thumbs-up")
    template = "429.html" if status == HTTPStatus.TOO_MANY_REQUESTS else "posts/not_allowed.html"
    return render(request, template, {"post": post, "message": message}, status=status)


@require_POST
@vary_on_headers("HX-Request")
def thumbs_up(request, slug):
    """Give or take back the reader's thumbs up on a published post."""
    post = get_object_or_404(Post.objects.published().without_bodies(), slug=slug)
    user = request.user
    if not user.is_authenticated:
        if request.htmx:
            return _thumbs_up_response(
                request,
                post,
                message=_("Log in or subscribe to give a thumbs up."),
                status=HTTPStatus.UNAUTHORIZED,
            )
        return redirect_to_login(
            f"{post.get_absolute_url()}#thumbs-up", login_url=reverse(settings.LOGIN_URL)
        )
    if not user.can_participate:
        return _thumbs_up_response(
            request,
            post,
            message=_("Confirm your email address to give a thumbs up."),
            status=HTTPStatus.FORBIDDEN,
        )
    form = ThumbsUpForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Send given=1 to give a thumbs up or given=0 to undo it."))
    if not ratelimits.consume(request, action="react", user=user):
        return _thumbs_up_response(
            request,
            post,
            message=_("That was a lot of thumbs in a short time. Please wait a minute."),
            status=HTTPStatus.TOO_MANY_REQUESTS,
        )
    given = set_thumbs_up(post=post, user=user, given=form.cleaned_data["given"])
    if request.htmx:
        _count_thumbs_up(post, user, given=given)
    return _thumbs_up_response(request, post)


def _count_thumbs_up(post, user, *, given=None) -> None:
    """Set what the thumbs-up box shows on post: the count, and whether user gave one (pass
    given when it is known). Two small queries rather than the page's annotated one."""
    post.thumbs_up_count = ThumbsUp.objects.filter(post=post).count()
    if given is None:
        given = user.is_authenticated and ThumbsUp.objects.filter(post=post, user=user).exists()
    post.viewer_gave_thumbs_up = given


@require_safe
def robots_txt(request):
    """Crawlers may read every public page; private and endless pages are left out."""
    return render(
        request,
        "posts/robots.txt",
        {"sitemap_url": f"{settings.SITE_URL}{reverse('posts:sitemap')}"},
        content_type="text/plain; charset=utf-8",
    )
