"""The ceiling `make bench` measures pages against: what the stack costs with no work at all.

A page of the requested size, through the same middleware as every page, without touching the
database or a template. Mounted only when FF_BENCH_CEILING is set (settings.BENCH_CEILING);
a normal deployment has no such URL.
"""

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.views.decorators.http import require_safe

MAX_BYTES = 1024 * 1024
_FILLER = b"<p>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8 + b"</p>\n"


@require_safe
def ceiling(request):
    """Return an HTML page of ?bytes=N bytes (default 64 KiB), carrying a CSRF token as every
    real page does."""
    try:
        size = min(max(int(request.GET.get("bytes", 65536)), 256), MAX_BYTES)
    except ValueError:
        size = 65536
    head = (
        b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ceiling</title>'
        b'</head><body hx-headers=\'{"X-CSRFToken": "' + get_token(request).encode() + b"\"}'>"
    )
    tail = b"</body></html>\n"
    body = (_FILLER * (size // len(_FILLER) + 1))[: max(0, size - len(head) - len(tail))]
    return HttpResponse(head + body + tail, content_type="text/html; charset=utf-8")


def ceiling_urls() -> list:
    """The ceiling's URL when settings.BENCH_CEILING is on, else nothing."""
    if not settings.BENCH_CEILING:
        return []
    return [path("bench/ceiling/", ceiling, name="bench-ceiling")]
