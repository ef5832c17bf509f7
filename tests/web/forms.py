"""Reading a rendered form back: the message shown next to a field, and the values the form
would send again (to check that nothing typed was lost)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_ERROR = re.compile(r'<p class="error" id="([\w-]+)-error">(.*?)</p>', re.S)


def field_errors(page: str) -> dict[str, str]:
    return {name: html.unescape(text).strip() for name, text in _ERROR.findall(page)}


class _Values(HTMLParser):
    def __init__(self, action: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._action = action
        self._inside = action is None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self._action is not None:
            self._inside = a.get("action", "").endswith(self._action)
        if not self._inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type", "text") in {"text", "tel", "email"}:
            self.values.setdefault(name, a.get("value", ""))
        elif tag == "input" and name and a.get("type") in {"checkbox", "radio"} \
                and "checked" in a:
            self.values.setdefault(name, a.get("value", "on"))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.setdefault(name, "")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._action is not None:
            self._inside = False
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(page: str, action: str | None = None) -> dict[str, str]:
    """The values of the page's fields, or of the form whose action ends with `action`."""
    parser = _Values(action)
    parser.feed(page)
    return parser.values
