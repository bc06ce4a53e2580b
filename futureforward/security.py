"""Security middleware that Django and django-csp do not provide.

- ``CSPMiddleware`` is django-csp's, plus, on admin pages only, the hashes of the two <style>
  blocks the rich-text editor (Tiptap) injects, so its own styles apply without
  ``'unsafe-inline'``.
- ``SecurityHeadersMiddleware`` sends Permissions-Policy, only the origin as
  Referer from a URL carrying an email vote token, and keeps a 304 from replacing the
  Content-Security-Policy a browser stored with the page it is revalidating.
- ``StaffTwoFactorMiddleware`` sends staff without an authenticator app to set one up before the
  admin opens, when ``REQUIRE_STAFF_MFA`` is on.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext as _

from polls.selectors import EMAIL_VOTE_PARAM

CSP_HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
# Authenticators that are a second factor on their own; recovery codes only back them up.
SECOND_FACTORS = ("totp", "webauthn")


@functools.lru_cache(maxsize=64)
def _reversed(name: str, root_urlconf: str, urlconf: str | None, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)


def path_of(name: str) -> str:
    """Return reverse(name), remembered: these middlewares ask for the same few paths on every
    request, and each reverse() costs tens of microseconds. Keyed on what reverse() depends on
    (the URLconf in use and the script prefix), so a different one is never given a stale path."""
    return _reversed(name, settings.ROOT_URLCONF, get_urlconf(), get_script_prefix())


EDITOR_SCRIPT = "django_prose_editor/editor.js"
# A template literal assigned in the bundle that starts like a stylesheet: ".ProseMirror {".
_CSS_LITERAL = re.compile(r"=`(\.[A-Za-z][\w-]*\s*\{[^`$]*)`")


@functools.cache
def editor_style_hashes() -> tuple[str, ...]:
    """Return CSP hash sources for the stylesheets the editor's bundle injects as <style>.

    Read from the installed bundle, so an upgrade of django-prose-editor brings its hashes with
    it; if the bundle changes shape and nothing is found, the editor's base styles are refused
    (the browser test reports the violation) and nothing else breaks.
    """
    path = finders.find(EDITOR_SCRIPT)
    if not path:
        return ()
    with open(path, encoding="utf-8") as bundle:
        source = bundle.read()
    hashes = []
    for literal in _CSS_LITERAL.findall(source):
        # JavaScript escapes (\xb7 in a content: rule) mean what Python's do here.
        css = literal.encode("latin-1", "backslashreplace").decode("unicode_escape")
        digest = hashlib.sha256(css.encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return tuple(hashes)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware; admin pages also allow the editor's injected stylesheets."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if request.path_info.startswith(path_of("admin:index")):
            hashes = editor_style_hashes()
            if hashes:
                update = dict(parts.update or {})
                update["style-src"] = [*update.get("style-src", ()), *hashes]
                parts.update = update
        return parts


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
        if EMAIL_VOTE_PARAM in request.GET or request.path_info.startswith("/polls/email/"):
            # A signed email vote token is in this URL: a Referer may carry the origin only.
            # (Not "no-referrer": the page's confirm form would then post Origin: null, which
            # the CSRF check refuses.)
            response.headers["Referrer-Policy"] = "strict-origin"
        if response.status_code == 304:
            # A browser revalidating a page keeps the body it has, whose nonces belong to the
            # policy it stored with it. A 304 carrying a new policy (a new nonce) would replace
            # that one, and the kept page's own nonced elements would be refused.
            for header in CSP_HEADERS:
                if header in response.headers:
                    del response.headers[header]
        return response


class StaffTwoFactorMiddleware:
    """Two-factor authentication is for the people behind /admin/.

    - Its management pages (/accounts/2fa/…) are for staff; a reader, who logs in with a code
      sent to their inbox, gets a 403 there (unless they still have an authenticator to remove).
    - With ``REQUIRE_STAFF_MFA`` on, /admin/ opens for staff only once they have an
      authenticator app; until then every admin page sends them to set one up (logging out
      still works).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._is_reader_managing_mfa(request):
            raise PermissionDenied(_("Two-factor authentication is for editors' accounts."))
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
    def _is_reader_managing_mfa(request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_staff:
            return False
        if not request.path.startswith(path_of("mfa_index")):
            return False
        # The second step of a login is not management, and must stay open to anyone mid-login.
        if request.path in {path_of("mfa_authenticate"), path_of("mfa_reauthenticate")}:
            return False
        from allauth.mfa.models import Authenticator

        return not Authenticator.objects.filter(user=user).exists()

    @staticmethod
    def _must_set_up(request: HttpRequest) -> bool:
        admin_root = path_of("admin:index")
        if not request.path.startswith(admin_root):
            return False
        if request.path in {path_of("admin:logout"), path_of("admin:login")}:
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return False  # the admin itself sends them to log in, or refuses them
        from allauth.mfa.utils import is_mfa_enabled

        return not is_mfa_enabled(user, types=SECOND_FACTORS)
