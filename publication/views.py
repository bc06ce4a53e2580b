"""The publication's settings as files browsers fetch: its colours and its web manifest."""

import json

from django.http import HttpResponse
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from publication.colors import HEX_RE, accent_inks
from publication.models import Publication

YEAR = 365 * 24 * 3600


def _settings_for(request) -> Publication:
    """The settings the page asking meant: pages link these files with ?v=<stamp>, and a page
    from a process that already has newer settings than this one makes this one read them."""
    publication = Publication.objects.current()
    wanted = request.GET.get("v")
    if wanted and wanted != publication.stamp:
        Publication.objects.clear_cache()
        publication = Publication.objects.current()
    return publication


def _cache_for(response: HttpResponse, request, publication: Publication) -> HttpResponse:
    # A URL with the current stamp never changes; anything else must not be kept, or a
    # browser could hold old colours under a new stamp's URL.
    if request.GET.get("v") == publication.stamp:
        response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response["Cache-Control"] = "no-cache"
    return response


@require_safe
def theme_css(request):
    """The accent colours as custom properties over site.css's defaults.

    A stylesheet of our own, not a <style> block or a style attribute: the Content-Security-
    Policy allows styles from this site only. The values were checked when saved; they are
    checked again here, so nothing but a colour can ever reach the stylesheet.
    """
    publication = _settings_for(request)
    light, dark = publication.accent_color.lower(), publication.accent_color_dark.lower()
    rules = []
    if HEX_RE.match(light):
        ink = accent_inks(light, dark=False)
        rules.append(f":root {{ --accent: {light}; --accent-ink: {ink}; }}")
    if HEX_RE.match(dark):
        ink = accent_inks(dark, dark=True)
        rules.append(
            "@media (prefers-color-scheme: dark) {\n"
            f"  :root {{ --accent: {dark}; --accent-ink: {ink}; }}\n}}"
        )
    body = "/* The publication's colours, set in the admin. */\n" + "\n".join(rules) + "\n"
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    return _cache_for(response, request, publication)


@require_safe
def web_manifest(request):
    """The web app manifest: the publication's name, colour and icon."""
    publication = _settings_for(request)
    if publication.favicon:
        extension = publication.favicon.name.rsplit(".", 1)[-1].lower()
        kind = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(extension)
        size = f"{publication.favicon_width}x{publication.favicon_height}"
        icons = [{"src": publication.favicon.url, "sizes": size, "type": kind}]
    else:
        icons = [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ]
    manifest = {
        "name": publication.name,
        "short_name": publication.name[:30],
        "description": publication.description,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": publication.accent_color,
        "icons": icons,
    }
    response = HttpResponse(
        json.dumps(manifest, ensure_ascii=False, indent=2),
        content_type="application/manifest+json; charset=utf-8",
    )
    return _cache_for(response, request, publication)
