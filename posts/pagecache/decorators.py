"""The two view decorators that serve pages from the cache."""

from functools import partial, wraps
from http import HTTPStatus

from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
)

from posts.pagecache import fresh, readerpages, store
from posts.pagecache.versions import read_from_database


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
    commits (see the package docstring). `params` names the query parameters the page reads; a
    request with any other (campaign tags aside) is rendered and not kept.
    """
    if view is None:
        return partial(cacheable_when_anonymous, versions=versions, params=params)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        key = None
        if versions is not None and store.storable(request, params=params):
            # Versions first, rendering second: a page is never older than its key.
            with read_from_database(fresh.has_just_acted(request)):
                numbers = versions(*args, **kwargs)
            key = store.cache_key(request, name=view.__name__, numbers=numbers)
            entry = store.get(key)
            if entry is not None:
                response = store.respond(request, entry)
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
        digest = store.content_digest(response.content)
        if key is not None:
            store.store(key, request, response, digest)
        return _revalidated(request, response, digest)

    return wrapped


def cached_for_readers(*, params=()):
    """For logged-in readers of a post page: render the page once per version for each kind
    of reader, and only their own parts for each request (readerpages.py). Nothing
    personal is shared: the stored copy was rendered for a stand-in who is nobody."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, slug):
            if not store.storable(request, params=params, logged_in=True):
                return view(request, slug)
            # The reader and the version numbers first, rendering second.
            state = readerpages.reader_state(request, post_slug=slug)
            if state.viewer is None:
                return view(request, slug)
            name = f"detail-reader-{state.viewer.key}"
            key = store.cache_key(request, name=name, numbers=state.numbers)
            entry = store.get(key)
            if entry is None:
                response = readerpages.render_for_kind(
                    request, state.viewer, lambda: view(request, slug)
                )
                if response.status_code != HTTPStatus.OK:
                    return view(request, slug)  # a 404 says so to the reader, not the stand-in
                seconds = store.seconds_to_keep(request)
                entry = readerpages.entry_from(request, response, seconds=seconds)
                readerpages.keep(key, entry)
            filler = readerpages.Filler(request, key=key, entry=entry, state=state, slug=slug)
            return filler.response()

        return wrapped

    return decorator


def _revalidated(request, response, digest):
    """Tag response for the browser's cache; a 304 instead when its copy is current."""
    etag = store.etag(digest, request)
    response.headers["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return get_conditional_response(request, etag=etag, response=response)
