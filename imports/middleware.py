"""Old addresses of imported posts: a permanent redirect, only where the site has no page."""

from django.http import HttpResponsePermanentRedirect


class OldAddressMiddleware:
    """Answer a 404 whose path a post had on its old platform with a 301 to the post.

    Only 404 responses are looked at, so every page the site answers, cached or not, is
    untouched and costs nothing; a 404 costs one lookup on the unique path index.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        from imports.models import OldAddress

        path = request.path
        other = path[:-1] if path.endswith("/") else f"{path}/"
        found = (
            OldAddress.objects.filter(path__in=[path, other])
            .select_related("post")
            .only("post__slug")
            .first()
        )
        if found is None:
            return response
        return HttpResponsePermanentRedirect(found.post.get_absolute_url())
