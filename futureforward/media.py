"""Uploads served from local disk, for `make serve` and one-machine deployments.

Several web machines need a shared place for uploads: S3-compatible storage (see the
AWS_* settings) or a reverse proxy serving MEDIA_ROOT from a shared disk.
"""

from django.conf import settings
from django.http import HttpRequest
from django.views.decorators.http import require_safe
from django.views.static import serve


@require_safe
def serve_media(request: HttpRequest, path: str):
    """Return one uploaded file, cacheable by browsers and proxies for a day."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=86400"
    return response
