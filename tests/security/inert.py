"""Checks that a document, parsed the way a browser parses it (html5lib implements the HTML
standard's parser), contains nothing that could run code or load from elsewhere."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import html5lib

# Attributes holding a URL a browser follows or loads.
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "poster",
    "background",
    "xlink:href",
    "cite",
}
# Elements the site never writes itself, in pages or emails.
FOREIGN_ELEMENTS = {"iframe", "object", "embed", "base", "applet", "frame", "frameset", "svg"}
FOREIGN_ELEMENTS |= {"math", "noscript", "template", "portal"}
DATA_SCRIPT_TYPES = {"application/ld+json", "application/json", "importmap"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _scheme(url: str) -> str:
    """The scheme a browser would see in url (it ignores spaces and control characters)."""
    cleaned = _CONTROL.sub("", url).lower()
    match = re.match(r"^([a-z][a-z0-9+.-]*):", cleaned)
    return match.group(1) if match else ""


def _local_name(tag) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def problems(
    html: str, *, email: bool = False, admin: bool = False, host: str = "testserver"
) -> list[str]:
    """Return what in html could run script, or load something, that the site did not put there.

    Pages may carry scripts from /static/ and JSON data blocks; emails no scripts at all, but
    they keep their own <style> block and style attributes (mail clients need them). Django's
    admin also loads its translations from /admin/jsi18n/ and draws its icons as inline SVG.
    """
    document = html5lib.parse(html, namespaceHTMLElements=True)
    found = []
    for element in document.iter():
        name = _local_name(element.tag)
        if not name:
            continue
        attributes = {
            _local_name(key) if "}" in key else key.lower(): value
            for key, value in element.attrib.items()
        }
        for attribute, value in attributes.items():
            if attribute.startswith("on"):
                found.append(f"<{name} {attribute}={value!r}>")
            if attribute in URL_ATTRIBUTES | {"href"} and _scheme(value) in {
                "javascript",
                "vbscript",
                "data",
            }:
                found.append(f"<{name} {attribute}={value!r}>")
            if attribute == "srcset" and "javascript" in value.lower():
                found.append(f"<{name} srcset={value!r}>")
            if attribute == "style" and not email:
                found.append(f"<{name} style={value!r}> (pages style only from stylesheets)")
            if attribute == "style" and "url(" in value.lower().replace(" ", ""):
                found.append(f"<{name} style={value!r}> loads a URL")
        # The site's own icons: <svg class="icon" aria-hidden="true"> (includes/_icon.html).
        own_icon = name == "svg" and attributes.get("class") == "icon"
        own_icon = own_icon and attributes.get("aria-hidden") == "true"
        if name in FOREIGN_ELEMENTS and not (admin and name == "svg") and not own_icon:
            found.append(f"<{name}>")
        if name == "meta" and "http-equiv" in attributes:
            found.append(f"<meta http-equiv={attributes['http-equiv']!r}>")
        if name == "link":
            href = attributes.get("href", "")
            if urlsplit(href).netloc not in {"", host}:
                found.append(f"<link href={href!r}>")
        if name == "style" and not email:
            found.append("<style> (pages style only from stylesheets)")
        if (
            name == "style"
            and email
            and ("@import" in (element.text or "") or "url(" in (element.text or ""))
        ):
            found.append("<style> in an email imports or loads something")
        if name == "script":
            found.extend(_script_problems(attributes, element.text or "", email=email, admin=admin))
    return found


def _script_problems(
    attributes: dict[str, str], text: str, *, email: bool, admin: bool
) -> list[str]:
    if email:
        return ["<script> in an email"]
    kind = attributes.get("type", "").lower()
    if kind in DATA_SCRIPT_TYPES:
        try:
            json.loads(text)
        except ValueError:
            return [f"<script type={kind!r}> whose data is not JSON: {text[:80]!r}"]
        return []
    src = attributes.get("src", "")
    if not src or text.strip():
        return [f"inline <script>: {text[:80]!r}"]
    if urlsplit(src).netloc or not (
        urlsplit(src).path.startswith("/static/") or (admin and src == "/admin/jsi18n/")
    ):
        return [f"<script src={src!r}> from outside /static/"]
    return []


def visible_text(html: str) -> str:
    """The text a reader sees (and attribute values), to check a payload reached the page."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    parts = [" ".join(document.itertext())]
    for element in document.iter():
        parts.extend(str(value) for value in element.attrib.values())
    return " ".join(parts)
