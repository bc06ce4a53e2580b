"""Counting at the door: post page views and arrivals from a send's email, for every process
and whether or not the page came from the page cache, without a database write per request."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from analytics import counting
from analytics.crawlers import is_crawler
from newsletter.rendering import read_send_mark

MARK = "ff"
SHOWN = {HTTPStatus.OK, HTTPStatus.NOT_MODIFIED}


def countable(request) -> bool:
    """Return True if this request may be counted: a browser that did not ask not to be
    (Do Not Track, Global Privacy Control), is not a known crawler or link scanner, and is not
    an editor looking at their own site."""
    meta = request.META  # not request.headers: building that costs more than all of this
    if meta.get("HTTP_DNT") == "1" or meta.get("HTTP_SEC_GPC") == "1":
        return False
    browser = meta.get("HTTP_USER_AGENT", "")
    if not browser or is_crawler(browser[:512]):
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_staff)


def client_address(request) -> str:
    """Return the address the last trusted proxy saw (DJANGO_TRUSTED_PROXY_COUNT), the rule the
    rate limits follow through allauth. Written out here because allauth's version checks and
    normalises the address, a tenth of a millisecond on every page, and this one is only hashed."""
    count = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


def visitor(request) -> str:
    """Return today's salted hash of the request's address and browser."""
    return counting.visitor_hash(
        address=client_address(request),
        browser=request.META.get("HTTP_USER_AGENT", "")[:512],
        day=counting.today(),
    )


def referrer_host(request) -> str:
    """Return the host of the referring site, or "" for none or this site itself."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer:
        return ""
    try:
        host = (urlsplit(referer).hostname or "")[:255]
    except ValueError:
        return ""
    return "" if host == request.get_host().split(":")[0] else host


class CountingMiddleware:
    """Count post page views (GETs of posts:detail answered 200 or 304) and email arrivals
    (?ff=<mark>)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if MARK in request.GET and request.method in {"GET", "HEAD"}:
            return self.arrival(request)
        response = self.get_response(request)
        # 304: the browser shows its own copy of the page (a reader back on another day).
        if request.method == "GET" and response.status_code in SHOWN:
            match = request.resolver_match
            if match is not None and match.view_name == "posts:detail" and countable(request):
                counting.record_post_visit(
                    slug=match.kwargs["slug"],
                    visitor=visitor(request),
                    day=counting.today(),
                    referrer_host=referrer_host(request),
                )
        return response

    def arrival(self, request):
        """Count an arrival through a send's link if its mark is ours, then show the page at
        its plain address (so a shared or bookmarked copy does not count for the send again)."""
        mark = read_send_mark(request.GET[MARK], path=request.path)
        # HEAD is what link scanners send to look before a reader clicks: not an arrival.
        if mark is not None and mark[1] > 0 and request.method == "GET" and countable(request):
            counting.record_link_arrival(
                send_id=mark[0],
                link=mark[1],
                path=request.path,
                visitor=visitor(request),
                day=counting.today(),
            )
        query = request.GET.copy()
        del query[MARK]
        url = request.path + (f"?{urlencode(query, doseq=True)}" if query else "")
        if not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
            url = "/"  # "//elsewhere.example/?ff=…" must not send the reader away
        return HttpResponseRedirect(url)
