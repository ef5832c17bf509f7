"""What intake's request handlers need, built once per worker by `create_app`."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app, request
from pymongo import MongoClient
from pymongo.database import Database

from services.intake.batcher import DirectInsert, InsertBatcher
from services.intake.ratelimit import RateLimiter
from services.intake.tracking import TrackingCodes
from shared.blind_index import BlindIndex
from shared.clock import Clock
from shared.crypto import FieldCipher
from shared.settings import Settings
from shared.web.problems import Problem

_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@dataclass
class IntakeDeps:
    settings: Settings
    client: MongoClient
    db: Database
    cipher: FieldCipher
    codes: TrackingCodes
    clock: Clock
    write_limiter: RateLimiter
    read_limiter: RateLimiter
    report_writer: InsertBatcher | DirectInsert  # group commit, or insert_one per report
    blind: BlindIndex | None = None  # the phone numbers' blind index (issue 20)


def deps() -> IntakeDeps:
    return current_app.extensions["intake"]


def presented_key() -> str | None:
    api_key = request.headers.get("X-API-Key") or request.args.get("api_key")
    if not api_key and request.mimetype in _FORM_TYPES:  # Open311 posts its key in the form
        api_key = request.form.get("api_key")
    return api_key or None


def is_known_key(api_key: str, settings: Settings) -> bool:
    known = (*settings.open311_api_keys, *settings.staff_api_keys)
    presented = api_key.encode("utf-8")
    found = False
    for key in known:  # every key compared, in constant time each
        found |= hmac.compare_digest(key.encode("utf-8"), presented)
    return found


def client_key() -> str:
    """The limiter's bucket: a verified API key (by digest), else the client's address
    (the citizen's own behind PROXY_HOPS proxies). A made-up key gets no bucket of its own."""
    api_key = presented_key()
    if api_key and is_known_key(api_key, deps().settings):
        return "key:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:32]
    return f"ip:{request.remote_addr}"


def refuse_unknown_key() -> None:
    api_key = presented_key()
    if api_key is not None and not is_known_key(api_key, deps().settings):
        raise Problem(401, "Unauthorized", "The API key is not known.", kind="unauthorized",
                      errors=[{"field": "X-API-Key" if request.headers.get("X-API-Key")
                               else "api_key", "message": "unknown key"}])


def enforce_rate_limit() -> None:
    """Before any work: a made-up key is refused, then the client's hit is counted."""
    refuse_unknown_key()
    d = deps()
    limiter = d.write_limiter if request.method == "POST" else d.read_limiter
    if limiter.per_minute <= 0:
        return
    retry_after = limiter.check(client_key())
    if retry_after is not None:
        raise Problem(429, "Too Many Requests",
                      f"Rate limit of {limiter.per_minute} requests per minute reached.",
                      kind="rate-limited", headers={"Retry-After": str(int(retry_after) + 1)})
