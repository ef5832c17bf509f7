"""A page's Server-Sent Events stream, shared by the staff pages (`/staff/live`, session
cookie) and the API (`/api/v1/events`, bearer token).

Events (each `data:` a JSON object without personal data of the public):
- `ticket`: {"ticket": id, "what": [...]}: a ticket the page may see changed; the page reads
  itself again through its ordinary request;
- `unread`: {"unread": n}: the person's unread notifications (on opening, then on change);
- `viewers`: {"ticket": id, "users": [...]}: who else has the ticket open (ticket pages);
- `resync`: read everything again (events may have been missed);
- `bye`: the stream ends (logged out, worker stopping); the browser does not reconnect on
  `bye` for a logout, and reconnects after `retry` otherwise.
A comment line every `keepalive_s` keeps proxies from closing an idle connection and tells
the worker when the page is gone; the session (or token) is checked again at each.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.tracker.alerts import store as notifications
from services.tracker.live import presence
from services.tracker.live.events import LiveEvent
from services.tracker.live.hub import CLOSED, Hub, Inbox

RETRY_MS = 3000


def frame(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@dataclass
class PageStream:
    hub: Hub
    inbox: Inbox
    db: Database
    clock: Callable[[], datetime]
    still_allowed: Callable[[], bool]  # the session or token is still good
    monotonic: Callable[[], float] = time.monotonic

    @property
    def user(self) -> str:
        return self.inbox.subscription.principal.user

    def __post_init__(self) -> None:
        # read once: the hub's threads may drop the id from `watch` later
        sub = self.inbox.subscription
        self.ticket_id: str | None = next(iter(sub.watch), None) if sub.view == "ticket" \
            else None

    def _unread(self) -> str:
        return frame("unread", {"unread": notifications.unread_count(self.db, self.user)})

    def _viewers(self, ticket_id: str) -> str:
        users = presence.viewers(self.db, ticket_id=ticket_id, now=self.clock(),
                                 without=self.user)
        return frame("viewers", {"ticket": ticket_id, "users": users})

    def _here(self) -> None:
        if self.ticket_id:
            presence.touch(self.db, ticket_id=self.ticket_id, user=self.user, now=self.clock())

    def events(self) -> Iterator[str]:
        config = self.hub.config
        started = last_beat = self.monotonic()
        viewing = self.ticket_id
        try:
            self._here()
            yield f"retry: {RETRY_MS}\n\n" + self._unread()
            if viewing:
                yield self._viewers(viewing)
            while self.monotonic() - started < config.stream_max_s:
                items = self.inbox.take(timeout=config.keepalive_s)
                if CLOSED in items:
                    yield frame("bye", {"reason": "restart"})
                    return
                if self.monotonic() - last_beat >= config.presence_beat_s:
                    last_beat = self.monotonic()
                    if not self.still_allowed():
                        yield frame("bye", {"reason": "logged_out"})
                        return
                    self._here()
                if not items:
                    yield ": keepalive\n\n"
                    continue
                yield from self._coalesced(items, viewing)
        except PyMongoError:
            yield frame("resync", {})  # the store is away: the page falls back to reloading
        finally:
            self.hub.unsubscribe(self.inbox)
            if viewing:
                try:
                    presence.leave(self.db, ticket_id=viewing, user=self.user)
                except PyMongoError:
                    pass  # the entry expires by itself

    def _coalesced(self, items: list[Any], viewing: str | None) -> Iterator[str]:
        """A burst of changes (a bulk move, a sweep) becomes one frame per ticket."""
        tickets: dict[str, set[str]] = {}
        unread = resync = viewers = False
        for item in items:
            if not isinstance(item, LiveEvent):
                continue
            if item.kind == "resync":
                resync = True
            elif item.kind == "notifications":
                unread = True
            elif item.kind == "viewers":
                viewers = True
            elif item.kind == "ticket" and item.ticket_id:
                tickets.setdefault(item.ticket_id, set()).update(item.what)
        if resync:
            yield frame("resync", {})
        for ticket_id, what in tickets.items():
            yield frame("ticket", {"ticket": ticket_id, "what": sorted(what)})
        if unread or resync:
            yield self._unread()
        if viewing and (viewers or resync):
            yield self._viewers(viewing)
