"""Template helpers for the Content-Security-Policy nonce (loaded with ``{% load ff_csp %}``)."""

from django import template
from js_asset import Media

register = template.Library()


@register.filter
def with_csp_nonce(media, request):
    """Return form media whose inline parts (the rich-text editor's import map) carry the
    response's CSP nonce; script and stylesheet tags get it too, which is harmless."""
    nonce = getattr(request, "csp_nonce", None)
    if not media or nonce is None:
        return media
    return Media.from_media(media, nonce=str(nonce))
