"""Helpers for the Playwright tests: a browser context logged in as a user, and screenshots
for a person to look at.

The login is a Django test client's `force_login`: it writes a session through the project's
own session store (accounts.sessions), and the browser gets that session's cookie, so a page
loads as the user would see it after logging in by code, without the login pages.

Set FF_SCREENSHOTS to a folder to keep the screenshots the tests take; without it `shoot`
does nothing.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client

# Installed before any page script runs, on every navigation: the browser reports each refused
# script, style, frame or connection to the page as a securitypolicyviolation event.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile}:${event.lineNumber} ${event.sample}`
  );
});
"""


def session_cookie(user) -> str:
    """Log `user` in through a fresh test client and return the session cookie's value."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def log_in(context, live_server, user) -> None:
    """Give a browser context the session cookie of `user`, for the live server's pages."""
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session_cookie(user),
                "url": live_server.url,
            }
        ]
    )


def screenshots_folder() -> Path | None:
    folder = os.environ.get("FF_SCREENSHOTS", "")
    return Path(folder) if folder else None


def shoot(page, name: str, *, widths=(), full_page: bool = True) -> None:
    """Keep a screenshot of the page as `<name>.png` in FF_SCREENSHOTS, if it is set.

    With `widths`, one screenshot per width (`<name>-<width>.png`), the viewport put back as
    it was afterwards."""
    folder = screenshots_folder()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    if not widths:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
        return
    viewport = page.viewport_size
    for width in widths:
        page.set_viewport_size({"width": width, "height": viewport["height"] if viewport else 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=full_page)
    if viewport:
        page.set_viewport_size(viewport)


class Watcher:
    """Collects, for one browser context, policy violations (events and console errors) and
    every request that left for a host other than `origin` (the live server's host:port).
    Tests open one through the `watch` fixture (tests/conftest.py)."""

    def __init__(self, context, origin: str):
        self.origin = origin
        self.context = context
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.foreign: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("request", self._on_request)

    def _on_console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text:
            self.console.append(text)

    def _on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in {"http", "https"} and parts.netloc != self.origin:
            self.foreign.append(request.url)

    def visit(self, path):
        response = self.page.goto(path)
        assert response is not None and response.status < 400, (path, response and response.status)
        self.page.wait_for_load_state("load")
        return response

    def assert_clean(self, where):
        events = self.page.evaluate("window.__cspViolations || []")
        assert events == [], (where, events)
        assert self.console == [], (where, self.console)
        assert self.foreign == [], (where, self.foreign)

    def close(self):
        self.context.close()
