"""A small Server-Sent Events reader for the live pages' tests and bench: one thread per
stream, each frame kept with the monotonic time it arrived."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORD, USERS, csrf_of


@dataclass
class Frame:
    event: str
    data: dict[str, Any]
    at: float


@dataclass
class SseReader:
    url: str
    cookies: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    status: int | None = None
    opened: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SseReader:
        self._response = requests.get(self.url, cookies=self.cookies, stream=True, timeout=30,
                                      headers={"Accept": "text/event-stream"})
        self.status = self._response.status_code
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        event, data = "message", ""
        try:
            for raw in self._response.iter_lines(chunk_size=1, decode_unicode=True):
                if raw is None:
                    continue
                if raw == "":
                    if data:
                        self.frames.append(Frame(event, json.loads(data), time.monotonic()))
                        if event == "unread":
                            self.opened.set()
                    event, data = "message", ""
                elif raw.startswith("event:"):
                    event = raw[6:].strip()
                elif raw.startswith("data:"):
                    data += raw[5:].strip()
        except (requests.RequestException, AttributeError, ValueError):
            pass

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [f.data for f in list(self.frames) if f.event == kind]

    def close(self) -> None:
        self._response.close()


def session_cookie(client: FlaskClient, role: str) -> dict[str, str]:
    """Log the test client in as the demo user of `role`; its staff session cookie."""
    page = client.get("/staff/login")
    answer = client.post("/staff/login", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "user": USERS[role],
        "password": PASSWORD})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    cookie = client.get_cookie("staff_session")
    assert cookie is not None
    return {"staff_session": cookie.value}


def http_session_cookie(base_url: str, role: str) -> dict[str, str]:
    """Log in over HTTP (a server in another process) as the demo user of `role`."""
    web = requests.Session()
    page = web.get(f"{base_url}/staff/login", timeout=10).text
    answer = web.post(f"{base_url}/staff/login", allow_redirects=False, timeout=10, data={
        "csrf_token": csrf_of(page), "user": USERS[role], "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return {"staff_session": web.cookies["staff_session"]}
