"""Django's AuthenticationMiddleware, with the reader taken from the session's own query."""

from django.contrib import auth
from django.contrib.auth import middleware
from django.utils.functional import SimpleLazyObject

from accounts.sessions import loading_user_for


def get_user(request):
    """Return the request's user through Django's auth.get_user (every check it makes), with our
    backends allowed to take the reader the session query loaded instead of querying again."""
    # The same cache attribute as Django's middleware, so request.auser() finds it too.
    if not hasattr(request, "_cached_user"):
        with loading_user_for(request.session):
            request._cached_user = auth.get_user(request)
    return request._cached_user


class AuthenticationMiddleware(middleware.AuthenticationMiddleware):
    """Replaces django.contrib.auth.middleware.AuthenticationMiddleware in MIDDLEWARE."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
