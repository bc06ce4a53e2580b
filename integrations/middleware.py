"""HTTP around the Content API: CORS for the origins in API_CORS_ORIGINS, and ETags.

Only listed origins get Access-Control-Allow-Origin. A preflight from another origin, or a write
that a browser sends from another origin without one, is refused before the view runs, so
nothing changes. Every successful GET carries an ETag of its body; If-None-Match with it gets a
304 and no body.
"""

import hashlib

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

API_PREFIX = "/api/"
ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, If-None-Match"


class ApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in settings.API_CORS_ORIGINS
        if origin is not None and not allowed and request.method not in ("GET", "HEAD"):
            return self._refuse(origin)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = "600"
        else:
            response = self._conditional(request, self.get_response(request))
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = "ETag, Retry-After"
        patch_vary_headers(response, ("Origin", "Authorization"))
        return response

    @staticmethod
    def _refuse(origin: str) -> JsonResponse:
        return JsonResponse(
            {"detail": f"The origin {origin} may not call this API from a browser."}, status=403
        )

    @staticmethod
    def _conditional(request, response):
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if response.streaming:
            return response
        etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
        response["ETag"] = etag
        response["Cache-Control"] = "no-cache"
        wanted = parse_etags(request.headers.get("If-None-Match", ""))
        if etag in wanted or "*" in wanted:
            not_modified = HttpResponse(status=304)
            for header in ("ETag", "Cache-Control", "Vary"):
                if header in response:
                    not_modified[header] = response[header]
            return not_modified
        return response
