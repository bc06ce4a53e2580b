from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Exists, OuterRef, prefetch_related_objects
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from accounts import ratelimits
from accounts.models import User
from posts import pagecache
from posts.forms import ThumbsUpForm, clean_search_query
from posts.htmx import for_reader
from posts.models import Page, Post, Tag, ThumbsUp, card_prefetches
from posts.pagecache import cacheable_when_anonymous, cached_for_readers
from posts.services import set_thumbs_up

HOME_LATEST = 9
PER_PAGE = 12
SEARCH_PER_PAGE = 10


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
    given = form.cleaned_data["given"]
    # The count comes back with the write, and includes it: the reader sees theirs counted.
    post.thumbs_up_count = set_thumbs_up(post=post, user=user, given=given)
    post.viewer_gave_thumbs_up = given
    return _thumbs_up_response(request, post)


def _count_thumbs_up(post, user) -> None:
    """Set what the thumbs-up box shows on post: the count, and whether user gave one. Two
    small queries rather than the page's annotated one."""
    post.thumbs_up_count = ThumbsUp.objects.filter(post=post).count()
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


@require_safe
def page(request, slug):
    """A standing page (About), as the editors wrote it in the admin."""
    return render(request, "posts/page.html", {"page": get_object_or_404(Page, slug=slug)})
