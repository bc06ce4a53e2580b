"""Fill in an admin form the way a browser would: start from what the page offers.

Reading the page's own fields (management forms of any inlines included) keeps these tests
working when other apps add inlines or fields to the post admin.
"""

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._select_multiple = False
        self._textarea: str | None = None
        self._text: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.data.setdefault(name, []).append(attrs.get("value") or default)
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
            self._select_multiple = "multiple" in attrs
            self.data.setdefault(name, [])
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self.data[self._select].append(value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select:
            # A single select with nothing marked sends its first option, as browsers do.
            if not self._select_chosen and not self._select_multiple and self._select_first:
                self.data[self._select].append(self._select_first)
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.data[self._textarea] = ["".join(self._text).lstrip("\n")]
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def admin_form_data(client, url: str, **values) -> dict:
    """Return the POST data of the admin form at url, with values filled in over it."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    parser = _FormFields()
    parser.feed(response.content.decode())
    data = {name: (v if len(v) != 1 else v[0]) for name, v in parser.data.items()}
    for name, value in values.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data
