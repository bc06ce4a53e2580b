"""Security middleware that Django and django-csp do not provide.

- ``SecurityHeadersMiddleware`` sends Permissions-Policy, and keeps a 304 from replacing the
  Content-Security-Policy a browser stored with the page it is revalidating.
- ``StaffTwoFactorMiddleware`` sends staff without an authenticator app to set one up before the
  admin opens, when ``REQUIRE_STAFF_MFA`` is on.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

CSP_HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
# Authenticators that are a second factor on their own; recovery codes only back them up.
SECOND_FACTORS = ("totp", "webauthn")


def permissions_policy(policy: dict[str, list[str]]) -> str:
    """Return the Permissions-Policy header value for {feature: [allowed origins]}."""
    parts = []
    for feature, origins in policy.items():
        allow = " ".join("self" if origin == "self" else f'"{origin}"' for origin in origins)
        parts.append(f"{feature}=({allow})")
    return ", ".join(parts)


class SecurityHeadersMiddleware:
    """Sits just outside django-csp's middleware, so it sees the header that one added."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = permissions_policy(getattr(settings, "PERMISSIONS_POLICY", {}))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        if response.status_code == 304:
            # A browser revalidating a page keeps the body it has, whose nonces belong to the
            # policy it stored with it. A 304 carrying a new policy (a new nonce) would replace
            # that one, and the kept page's own nonced elements would be refused.
            for header in CSP_HEADERS:
                if header in response.headers:
                    del response.headers[header]
        return response


class StaffTwoFactorMiddleware:
    """With ``REQUIRE_STAFF_MFA`` on, /admin/ opens for staff only once they have an authenticator
    app; until then every admin page sends them to set one up (logging out still works)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.REQUIRE_STAFF_MFA and self._must_set_up(request):
            messages.warning(
                request,
                _(
                    "Editors must turn on two-factor authentication before using the admin. "
                    "Set up an authenticator app below, then open the admin again."
                ),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def _must_set_up(request: HttpRequest) -> bool:
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root):
            return False
        if request.path in {reverse("admin:logout"), reverse("admin:login")}:
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return False  # the admin itself sends them to log in, or refuses them
        from allauth.mfa.utils import is_mfa_enabled

        return not is_mfa_enabled(user, types=SECOND_FACTORS)
