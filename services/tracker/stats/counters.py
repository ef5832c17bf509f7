"""The supervisor's figures kept as counters, moved in the same transaction as the ticket
change that moves them, so that reading a window costs a few dozen small documents whatever
the number of tickets.

What a ticket adds to the figures (its *contribution*) is a pure function of the stored
ticket (and, for a duplicate, of its originals), with the definitions of `stats/service.py`:
open now (by department and state) and open breach (stored `sla.breached`); finished (the
outcome through the originals, on the city day of its `finished_at`, with its duration in
a histogram); each department's answered first response (on the day of the answer); the
standing rating (on the day it was given); and the ticket's arrival (day of `created_at`, by
category: the volume charts). Every write computes the contribution before and after and
`$inc`s the difference, in one transaction with the ticket's own update.

Documents of the `figure_counters` collection:
- `now`: `open.<department>.<state>` and `breached.<department>` (gauges, no window);
- `B<level>:<first day>`: blocks of 16**level city days (level 0 to 2: 1, 16 and 256
  days, aligned on the proleptic Gregorian ordinal), `d.<department>.<counter>` and the
  duration histogram packed in one binary field per department, `h.<department>` (see
  `pack`). A change of a day moves three blocks (the 4**level blocks of an earlier layout,
  `L<level>`, moved six: `rebuild-figures` replaces them). A window of days is covered by at
  most fifteen blocks of each size on each side: 30 days read at most 30 documents, 365 days
  at most 61, each of a size that no longer grows with the number of tickets (a department's
  histogram is one value, not a field per bucket);
- `v:<day>`: `created.<category>`, one per day (the chart shows every day);
- `bh:0`: `<department>.<hour>`, the open breaches (stored `sla.breached`) by the hour of
  their `breach_at` (hours since 1970, UTC): what the breach lists need to know where a page
  lies in the `breach_at` index, because the embedded store reads every match of a sorted,
  limited query (`breach_hours`, `tickets/repository.py:breach_page`). It moves only when an
  open breach does (a breach swept, a breached ticket finished, moved or reopened).

The counters are `$inc`ed. A packed histogram cannot be: the write reads it in its
transaction and sets the sum on the condition that it still holds what was read
(compare-and-set), in the same update as the document's `$inc`s (one update per document);
when another writer was first, the whole transaction runs again. In
their flat form ({path: n}, what `recompute`, `stored` and the tests compare) a histogram
is still `d.<department>.h.<bucket>`.

Concurrency: each ticket stores `figures_hash`, a digest of the contribution that is
counted for it. Every write that may change a contribution is conditional on the hash it
read, so two writers (the API and the monitor's sweep, or two monitors) cannot count the
same change twice; the ticket's own `seq` condition stays as it was.

The median resolution time is the one figure a counter cannot hold exactly: it comes from a
histogram of 8 buckets per doubling (Prometheus' native histogram schema 3), interpolated
by rank inside the bucket, so it lies within 9.05% (and 60 s) of the exact median.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pymongo
from prometheus_client import Counter as MetricCounter
from pymongo import DeleteOne, ReplaceOne, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, ExecutionTimeout

from services.tracker.stats.service import outcome
from services.tracker.store import FIGURE_COUNTERS, TICKETS
from shared.tickets import OPEN_STATES

log = logging.getLogger(__name__)

NOW = "now"
BASE = 16  # a block of level n holds BASE**n days
LEVELS = 3  # blocks of 1, 16 and 256 days
TOP = LEVELS - 1
BLOCK = "B"  # the blocks' kind prefix (`L` was the six levels of 4**n days)
UNASSIGNED = "_unassigned"  # the department key of open tickets waiting for triage
BUCKETS_PER_DOUBLING = 8
BUCKET_BASE_S = 60.0  # bucket 0 holds durations under a minute
LAST_BUCKET = BUCKETS_PER_DOUBLING * 32  # from 60 s x 2**32 (8,000 years) on: one bucket
HISTOGRAM = "h"  # a block's packed histograms: h.<department>
ATTEMPTS = 50  # transactions run again when a histogram was changed meanwhile
# a transaction with its retries ends within this many of the client's operation timeouts
# (MONGO_TIMEOUT_MS); pymongo's with_transaction alone retries for up to 120 s
TRANSACTION_TIMEOUTS = 5
# what a contribution reads from a ticket (and a duplicate from its originals)
FIELDS = {"department": 1, "state": 1, "sla.breached": 1, "finished_at": 1,
          "finished_on_time": 1, "started_at": 1, "created_at": 1, "rating": 1,
          "duplicate_of": 1, "first_responses": 1, "category": 1, "figures_hash": 1,
          "breach_at": 1, "has_duplicates": 1}
OUTCOME_INPUTS = ("state", "duplicate_of", "finished_at", "finished_on_time")

Scope = tuple[str, int]  # ("now", 0), ("day", ordinal) or ("vol", ordinal)
Contribution = Counter[tuple[Scope, str]]
NOW_SCOPE: Scope = ("now", 0)
BREACH_HOURS = "bh:0"
BREACH_HOURS_SCOPE: Scope = ("bh", 0)
HOUR_S = 3600


# --- names and days ------------------------------------------------------------------------


def key(name: str | None) -> str:
    """A department or category as a field name (no dots, no leading $)."""
    if not name:
        return UNASSIGNED
    return name.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def unkey(field_name: str) -> str | None:
    if field_name == UNASSIGNED:
        return None
    return field_name.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def breach_hour(at: datetime) -> int:
    """The hour of an instant, counted from 1970 (UTC): a field of the `bh:0` document."""
    return math.floor(at.timestamp() / HOUR_S)


def day_of(at: datetime, tz: ZoneInfo) -> int:
    return at.astimezone(tz).date().toordinal()


def window(now: datetime, days: int, tz: ZoneInfo) -> tuple[int, int]:
    """The `days` city days ending today (today included), as ordinals: the days the
    volume chart shows."""
    today = day_of(now, tz)
    return today - days + 1, today


def window_start(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The first instant of a window: midnight in the city of its first day."""
    first, _ = window(now, days, tz)
    return datetime.combine(date.fromordinal(first), datetime.min.time(), tz)


def cover(first: int, last: int) -> list[tuple[int, int]]:
    """The fewest aligned blocks (level, first day) covering days first..last exactly."""
    blocks = []
    day = first
    while day <= last:
        level = TOP
        while level and (day % BASE ** level or day + BASE ** level - 1 > last):
            level -= 1
        blocks.append((level, day))
        day += BASE ** level
    return blocks


def block_id(level: int, start: int) -> str:
    return f"{BLOCK}{level}:{start}"


# --- the duration histogram ----------------------------------------------------------------


def _edge(b: int) -> float:
    return BUCKET_BASE_S * 2 ** ((b - 1) / BUCKETS_PER_DOUBLING)


def bucket(seconds: float) -> int:
    if seconds < BUCKET_BASE_S:
        return 0
    if seconds >= _edge(LAST_BUCKET):
        return LAST_BUCKET
    b = 1 + math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds / BUCKET_BASE_S))
    while b > 1 and seconds < _edge(b):  # floating point at an edge: the edges decide
        b -= 1
    while seconds >= _edge(b + 1):
        b += 1
    return b


def bucket_bounds(b: int) -> tuple[float, float]:
    if b == 0:
        return 0.0, BUCKET_BASE_S
    return _edge(b), math.inf if b == LAST_BUCKET else _edge(b + 1)


def pack(histogram: Mapping[int, int]) -> bytes | None:
    """A histogram as one binary value: the first bucket counted (2 bytes, little-endian),
    then the count of each bucket from there to the last one counted (4 bytes each, signed,
    little-endian). None when nothing is counted."""
    used = [b for b, n in histogram.items() if n]
    if not used:
        return None
    low = min(used)
    counts = np.zeros(max(used) - low + 1, dtype="<i4")
    for b in used:
        counts[b - low] = histogram[b]
    return low.to_bytes(2, "little") + counts.tobytes()


def _counts(blob: bytes) -> tuple[int, np.ndarray]:
    return int.from_bytes(blob[:2], "little"), np.frombuffer(blob, dtype="<i4", offset=2)


def unpack(blob: bytes) -> dict[int, int]:
    low, counts = _counts(blob)
    return {low + int(i): int(counts[i]) for i in np.flatnonzero(counts)}


def histogram_median(histogram: dict[int, int]) -> float | None:
    """The median of the durations counted, in seconds: the value of the middle rank (the
    mean of the two middle ones), placed by rank inside its bucket."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    ranks = [(total - 1) // 2, total // 2]
    values = []
    for rank in ranks:
        seen = 0
        for b in sorted(histogram):
            n = histogram[b]
            if n > 0 and rank < seen + n:
                lo, hi = bucket_bounds(b)
                values.append(lo if math.isinf(hi) else lo + (hi - lo) * (rank - seen + 0.5) / n)
                break
            seen += n
    return sum(values) / 2


# --- a ticket's contribution ---------------------------------------------------------------


class Tickets(dict):
    """Tickets by id for `outcome`: the given ones, and originals read from the store on
    first use (in the caller's session)."""

    def __init__(self, db: Database, given: Iterable[dict[str, Any]] = (),
                 session: ClientSession | None = None,
                 cache: dict[str, dict[str, Any] | None] | None = None) -> None:
        super().__init__((t["_id"], t) for t in given)
        self._db, self._session = db, session
        self._cache = {} if cache is None else cache

    def get(self, ticket_id: Any, default: Any = None) -> Any:
        if ticket_id is None:
            return default
        if ticket_id not in self:
            if ticket_id not in self._cache:
                self._cache[ticket_id] = self._db[TICKETS].find_one(
                    {"_id": ticket_id}, FIELDS, session=self._session)
            found = self._cache[ticket_id]
            return default if found is None else found
        return dict.get(self, ticket_id, default)


def contribution(ticket: dict[str, Any], tickets: Any, tz: ZoneInfo) -> Contribution:
    """What this ticket adds to the counters now (see the module's docstring)."""
    out: Contribution = Counter()
    department = ticket.get("department")
    if ticket["state"] in OPEN_STATES:
        out[(NOW_SCOPE, f"open.{key(department)}.{ticket['state']}")] += 1
        if (ticket.get("sla") or {}).get("breached"):
            out[(NOW_SCOPE, f"breached.{key(department)}")] += 1
            if isinstance(ticket.get("breach_at"), datetime):
                out[(BREACH_HOURS_SCOPE,
                     f"{key(department)}.{breach_hour(ticket['breach_at'])}")] += 1
    if ticket.get("created_at") is not None:
        out[(("vol", day_of(ticket["created_at"], tz)),
             f"created.{key(ticket.get('category'))}")] += 1
    for episode in ticket.get("first_responses") or ():
        answered = episode.get("responded_at")
        if episode.get("department") and answered is not None:
            scope = ("day", day_of(answered, tz))
            out[(scope, f"d.{key(episode['department'])}.fr")] += 1
            out[(scope, f"d.{key(episode['department'])}.fr_ok")] += int(
                bool(episode.get("on_time")))
    if not department:
        return _nonzero(out)
    prefix = f"d.{key(department)}"
    done = outcome(ticket, tickets)
    if done is not None:
        scope = ("day", day_of(done[0], tz))
        out[(scope, f"{prefix}.fin")] += 1
        out[(scope, f"{prefix}.ok")] += int(done[1])
        seconds = (done[0] - ticket["started_at"]).total_seconds()
        out[(scope, f"{prefix}.h.{bucket(seconds)}")] += 1
    rating = ticket.get("rating") or {}
    if rating.get("score") is not None:
        scope = ("day", day_of(rating["at"], tz))
        out[(scope, f"{prefix}.rated")] += 1
        out[(scope, f"{prefix}.stars")] += int(rating["score"])
        out[(scope, f"{prefix}.happy")] += int(rating["score"] >= 4)
    return _nonzero(out)


def _nonzero(counts: Contribution) -> Contribution:
    return Counter({k: n for k, n in counts.items() if n})


def digest(counts: Contribution) -> str:
    text = repr(sorted(counts.items()))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def difference(new: Contribution, old: Contribution) -> Contribution:
    delta: Contribution = Counter(new)
    delta.subtract(old)
    return _nonzero(delta)


def by_document(counts: Contribution) -> dict[str, dict[str, int]]:
    """The `$inc` of each counter document a set of counts touches."""
    docs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (scope, name), n in counts.items():
        kind, day = scope
        if kind == "now":
            docs[NOW][name] += n
        elif kind == "vol":
            docs[f"v:{day}"][name] += n
        elif kind == "bh":
            docs[BREACH_HOURS][name] += n
        else:
            for level in range(LEVELS):
                docs[block_id(level, day - day % BASE ** level)][name] += n
    return {doc_id: {k: n for k, n in incs.items() if n} for doc_id, incs in docs.items()}


def _kind(doc_id: str) -> tuple[str, int]:
    if doc_id == NOW:
        return NOW, 0
    kind, start = doc_id.split(":")
    return kind, int(start)


def _is_histogram(path: str) -> bool:
    parts = path.split(".")
    return len(parts) == 4 and parts[0] == "d" and parts[2] == HISTOGRAM


class Contended(Exception):
    """A packed histogram changed between the read and the write of a transaction."""


def _write_counters(db: Database, counts: Contribution, session: ClientSession) -> None:
    """Move the counters by these counts, inside the caller's transaction, with one update
    per document: its `$inc`s and, when packed histograms of it move, their new values set
    on the condition that they still hold what was read just before (compare-and-set; a
    document not there yet is created). Raises `Contended` when one of them was changed (or
    the document created) meanwhile."""
    scalars: dict[str, dict[str, int]] = defaultdict(dict)
    histograms: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    for doc_id, incs in by_document(counts).items():
        for path, n in incs.items():
            if _is_histogram(path):
                _, department, _, b = path.split(".")
                histograms[doc_id][department][int(b)] += n
            else:
                scalars[doc_id][path] = n
    current: dict[str, dict[str, Any]] = {}
    if histograms:
        fields = {f"{HISTOGRAM}.{d}": 1 for deltas in histograms.values() for d in deltas}
        current = {doc["_id"]: doc.get(HISTOGRAM) or {} for doc in db[FIGURE_COUNTERS].find(
            {"_id": {"$in": sorted(histograms)}}, fields, session=session)}
    writes = []
    for doc_id in sorted(set(scalars) | set(histograms)):
        kind, start = _kind(doc_id)
        filter_: dict[str, Any] = {"_id": doc_id}
        update: dict[str, Any] = {}
        if scalars.get(doc_id):
            update["$inc"] = scalars[doc_id]
        for department, delta in sorted(histograms.get(doc_id, {}).items()):
            old = current.get(doc_id, {}).get(department)
            histogram = Counter(unpack(old)) if old is not None else Counter()
            histogram.update(delta)
            new, path = pack(histogram), f"{HISTOGRAM}.{department}"
            if doc_id in current:
                filter_[path] = {"$exists": False} if old is None else old
            if new is None:
                update.setdefault("$unset", {})[path] = ""
            else:
                update.setdefault("$set", {})[path] = new
        if doc_id in histograms and doc_id in current:
            writes.append(UpdateOne(filter_, update))  # compare-and-set: no upsert
        else:
            update["$setOnInsert"] = {"kind": kind, "start": start}
            writes.append(UpdateOne(filter_, update, upsert=True))
    if not writes:
        return
    try:
        result = db[FIGURE_COUNTERS].bulk_write(writes, ordered=True, session=session)
    except (BulkWriteError, DuplicateKeyError) as exc:  # created by another writer first
        raise Contended from exc
    if result.matched_count + result.upserted_count != len(writes):
        raise Contended
    # an hour no breach holds any more leaves the breach map (these may match nothing)
    emptied = [UpdateOne({"_id": BREACH_HOURS, path: 0}, {"$unset": {path: ""}})
               for path, n in sorted(scalars.get(BREACH_HOURS, {}).items()) if n < 0]
    if emptied:
        db[FIGURE_COUNTERS].bulk_write(emptied, ordered=True, session=session)


TRANSACTIONS = MetricCounter(
    "tracker_figure_transactions_total",
    "Ticket writes that moved the figure counters in a transaction, committed")
TRANSACTION_RUNS = MetricCounter(
    "tracker_figure_transaction_runs_total",
    "Runs of those transactions, again after a write conflict on a counter or a ticket included")


# Every figure transaction writes the same few counter documents (the day's block, `bh:0`):
# two at once in one process would only make one of them run again after a write conflict.
_ONE_AT_A_TIME = threading.Lock()


def _transaction(db: Database, write: Callable[[ClientSession], None]) -> None:
    """Run `write` in a transaction, again when a histogram it moves was changed meanwhile
    (the driver itself runs it again on the store's transient errors), all of it within
    TRANSACTION_TIMEOUTS of the client's timeout: a starved store fails the write (the caller
    answers 503 or retries the batch) instead of holding a worker for two minutes."""
    budget = (db.client.options.timeout or 3.0) * TRANSACTION_TIMEOUTS

    def run(session: ClientSession) -> None:
        TRANSACTION_RUNS.inc()
        write(session)

    if not _ONE_AT_A_TIME.acquire(timeout=budget):
        raise ExecutionTimeout("the figure counters' writers of this process are busy")
    try:
        for attempt in range(ATTEMPTS):
            try:
                with pymongo.timeout(budget), db.client.start_session() as session:
                    session.with_transaction(run)
                TRANSACTIONS.inc()
                return
            except Contended:
                if attempt == ATTEMPTS - 1:
                    raise
                log.debug("figure counters contended, attempt %d", attempt + 1)
    finally:
        _ONE_AT_A_TIME.release()


# --- writes --------------------------------------------------------------------------------


class Lost(Exception):
    """A conditional write matched nothing: someone changed the ticket meanwhile."""


@dataclass
class Change:
    """One ticket write: the stored ticket as read, the ticket after the change, and the
    update (its filter gets the figures hash; its `$set` the new one). `also`: other
    tickets' updates (filter, update) written in the same transaction (a duplicate mark
    flags its original)."""
    ticket: dict[str, Any]
    updated: dict[str, Any]
    filter: dict[str, Any]
    update: dict[str, Any]
    delta: Contribution = field(default_factory=Counter)
    new_hash: str = ""
    also: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def conditional(self) -> tuple[dict[str, Any], dict[str, Any]]:
        update = {op: dict(args) for op, args in self.update.items()}
        update.setdefault("$set", {})["figures_hash"] = self.new_hash
        return {**self.filter, "figures_hash": self.ticket.get("figures_hash")}, update


def _prepare(db: Database, change: Change, tz: ZoneInfo,
             session: ClientSession | None = None) -> list[tuple[dict[str, Any], str]]:
    """Fill the change's delta and new hash; the duplicates whose outcome goes through this
    ticket and moves with it are returned as (stored duplicate, its new hash), their
    difference added to the delta."""
    cache: dict[str, dict[str, Any] | None] = {}
    old_view = Tickets(db, [change.ticket], session, cache)
    new_view = Tickets(db, [change.updated], session, cache)
    new = contribution(change.updated, new_view, tz)
    change.new_hash = digest(new)
    change.delta = difference(new, contribution(change.ticket, old_view, tz))
    if all(change.ticket.get(k) == change.updated.get(k) for k in OUTCOME_INPUTS):
        return []
    if change.ticket.get("has_duplicates") is False:
        # never an original (a mark sets the flag in its transaction, and this write holds
        # only while the flag is still unset): no duplicate's outcome goes through it
        change.filter["has_duplicates"] = False
        change.delta = _nonzero(change.delta)
        return []
    moved: list[tuple[dict[str, Any], str]] = []
    seen = {change.ticket["_id"]}
    frontier = [change.ticket["_id"]]
    while frontier:
        found = [d for d in db[TICKETS].find(
            {"duplicate_of": {"$in": frontier}, "state": "duplicate"}, FIELDS, session=session)
            if d["_id"] not in seen]
        seen.update(d["_id"] for d in found)
        frontier = [d["_id"] for d in found]
        for dup in found:
            before = contribution(dup, old_view, tz)
            after = contribution(dup, new_view, tz)
            if before != after:
                change.delta.update(difference(after, before))
                moved.append((dup, digest(after)))
    change.delta = _nonzero(change.delta)
    return moved


def _update_unchanged(db: Database, writes: list[tuple[dict[str, Any], dict[str, Any]]],
                      session: ClientSession) -> list[bool]:
    """Inside a transaction: apply each (filter, update) to its ticket if the filter (`_id`
    and equalities on other top-level fields) still holds; whether each was applied.

    The filters are checked on the transaction's own read and the updates written by `_id`
    alone: the embedded store plans a filter of several fields against every index of the
    tickets (a third more of its CPU per update, measured), where an `_id` is a point lookup.
    A writer that commits after the read makes the write by `_id` a write conflict, so the
    transaction runs again and reads what that writer wrote."""
    fields = {key: 1 for filter_, _ in writes for key in filter_}
    stored = {doc["_id"]: doc for doc in db[TICKETS].find(
        {"_id": {"$in": list(dict.fromkeys(f["_id"] for f, _ in writes))}}, fields,
        session=session)}
    applied = []
    written: set[Any] = set()
    for filter_, update in writes:
        doc = stored.get(filter_["_id"])
        if filter_["_id"] in written or any(isinstance(v, dict) for v in filter_.values()):
            # written already in this transaction, or an operator: the store checks it
            held = db[TICKETS].update_one(filter_, update, session=session).matched_count > 0
        else:
            held = doc is not None and all(doc.get(k) == v for k, v in filter_.items())
            if held and db[TICKETS].update_one({"_id": filter_["_id"]}, update,
                                               session=session).matched_count == 0:
                raise Contended  # read in this transaction, gone at its write: run it again
        written.add(filter_["_id"])
        applied.append(held)
    return applied


def save(db: Database, change: Change, *, tz: ZoneInfo) -> None:
    """Write one ticket change and move the counters with it, atomically. Raises `Lost`
    when the ticket (or a duplicate whose figures move with it) changed meanwhile."""
    moved = _prepare(db, change, tz)
    filter_, update = change.conditional()
    if not change.delta and not moved and not change.also:
        if db[TICKETS].update_one(filter_, update).matched_count == 0:
            raise Lost(change.ticket["_id"])
        return

    writes = [(filter_, update), *change.also,
              *(({"_id": dup["_id"], "figures_hash": dup.get("figures_hash")},
                 {"$set": {"figures_hash": new_hash}}) for dup, new_hash in moved)]

    def write(session: ClientSession) -> None:
        # the counters first (see `_write_prepared`); a lost ticket aborts them with it
        _write_counters(db, change.delta, session)
        for (written_filter, _), held in zip(writes, _update_unchanged(db, writes, session),
                                             strict=True):
            if not held:
                raise Lost(written_filter["_id"])

    _transaction(db, write)


def save_many(db: Database, changes: list[Change], *, tz: ZoneInfo) -> int:
    """Write a batch of ticket changes (the monitor's sweep): those that leave the figures
    alone in one unordered bulk write, the others as `save_batch` does. Returns how many
    were written."""
    plain: list[Change] = []
    moving: list[tuple[Change, list[tuple[dict[str, Any], str]]]] = []
    for change in changes:
        moved = _prepare(db, change, tz)
        if change.delta or moved:
            moving.append((change, moved))
        else:
            plain.append(change)
    written = 0
    if plain:
        result = db[TICKETS].bulk_write(
            [UpdateOne(*c.conditional()) for c in plain], ordered=False)
        written += result.matched_count
    return written + len(_write_prepared(db, moving, tz))


def save_batch(db: Database, changes: list[Change], *, tz: ZoneInfo) -> set[str]:
    """Write a batch of ticket changes (a bulk move) in one transaction with one write of
    the counters (the sum of their deltas), each ticket written and counted only if its
    condition held; a change whose figures move duplicates with it is saved alone, as
    `save` does. Returns the ids of the tickets written. (On the embedded store one
    transaction for a batch costs far less than one per ticket: the counters' documents and
    the commit are written once.)"""
    return _write_prepared(db, [(c, _prepare(db, c, tz)) for c in changes], tz)


def _write_prepared(db: Database, prepared: list[tuple[Change, list[tuple[dict[str, Any], str]]]],
                    tz: ZoneInfo) -> set[str]:
    written: set[str] = set()
    batch: list[Change] = []
    for change, moved in prepared:
        if not moved and not change.also:
            batch.append(change)
            continue
        try:  # duplicates move with it: alone, their conditions checked
            save(db, change, tz=tz)
            written.add(change.ticket["_id"])
        except Lost:
            pass
    if not batch:
        return written
    counted: list[str] = []

    def write(session: ClientSession) -> None:
        # The counters' few documents are the ones every writer moves. Written first, a
        # conflict on them ends this run before any ticket is written, and the run that holds
        # them commits before the next one starts; written last, a conflict came after every
        # ticket of the batch had been written, and the whole batch was written again (the
        # month's replay ran 1.65 transactions per commit). Tickets whose condition no longer
        # holds are taken back out of the counters before the commit.
        counted.clear()
        total: Contribution = Counter()
        for change in batch:
            total.update(change.delta)
        if total := _nonzero(total):
            _write_counters(db, total, session)
        missed: Contribution = Counter()
        held = _update_unchanged(db, [change.conditional() for change in batch], session)
        for change, written in zip(batch, held, strict=True):
            if written:
                counted.append(change.ticket["_id"])
            else:
                missed.update({key: -n for key, n in change.delta.items()})
        if missed := _nonzero(missed):
            _write_counters(db, missed, session)

    _transaction(db, write)
    return written | set(counted)


def insert(db: Database, tickets: list[dict[str, Any]], *, tz: ZoneInfo) -> set[int]:
    """Insert new tickets and count them, in one transaction; like `shared.mongo.insert_new`
    it returns the indexes of the tickets whose key was taken (a replay, another process
    first, a tracking code already held), which are neither inserted nor counted."""
    ids = [t["_id"] for t in tickets]
    taken = {d["_id"] for d in db[TICKETS].find({"_id": {"$in": ids}}, {"_id": 1})}
    fresh = [t for t in tickets if t["_id"] not in taken]
    for ticket in fresh:
        ticket["figures_hash"] = digest(contribution(ticket, Tickets(db), tz))
    try:
        _insert_counted(db, fresh, tz)
    except (BulkWriteError, DuplicateKeyError):
        for ticket in fresh:  # someone was first with one of them: find which, one by one
            try:
                _insert_counted(db, [ticket], tz)
            except (BulkWriteError, DuplicateKeyError):
                taken.add(ticket["_id"])
    return {i for i, t in enumerate(tickets) if t["_id"] in taken}


def _insert_counted(db: Database, tickets: list[dict[str, Any]], tz: ZoneInfo) -> None:
    if not tickets:
        return
    total: Contribution = Counter()
    for ticket in tickets:
        total.update(contribution(ticket, Tickets(db), tz))

    def write(session: ClientSession) -> None:
        db[TICKETS].insert_many(tickets, ordered=True, session=session)
        _write_counters(db, _nonzero(total), session)

    _transaction(db, write)


# --- reads ---------------------------------------------------------------------------------


@dataclass
class _Department:
    backlog: int = 0
    open_breaches: int = 0
    fin: int = 0
    ok: int = 0
    fr: int = 0
    fr_ok: int = 0
    rated: int = 0
    stars: int = 0
    happy: int = 0
    h: np.ndarray = field(default_factory=lambda: np.zeros(LAST_BUCKET + 1, dtype=np.int64))

    def shown(self) -> bool:
        return bool(self.backlog or self.fin or self.fr or self.rated)

    def add_histogram(self, blob: bytes) -> None:
        low, counts = _counts(blob)
        self.h[low:low + len(counts)] += counts

    def histogram(self) -> dict[int, int]:
        return {int(b): int(self.h[b]) for b in np.flatnonzero(self.h)}


def _blocks(db: Database, first: int | None, last: int | None,
            projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
    if first is None or last is None:
        return list(db[FIGURE_COUNTERS].find({"kind": f"{BLOCK}{TOP}"}, projection))
    ids = [block_id(level, start) for level, start in cover(first, last)]
    return list(db[FIGURE_COUNTERS].find({"_id": {"$in": ids}}, projection))


def department_figures(*, db: Database, first: int | None = None,
                       last: int | None = None) -> list[dict[str, Any]]:
    """The rows of `stats.service.department_stats` from the counters, for the city days
    first..last (None: all time): open tickets now, and what was finished, answered and
    rated in those days."""
    rows: dict[str, _Department] = defaultdict(_Department)
    now = db[FIGURE_COUNTERS].find_one({"_id": NOW}) or {}
    for name, states in (now.get("open") or {}).items():
        if name != UNASSIGNED:
            rows[name].backlog += sum(states.values())
    for name, n in (now.get("breached") or {}).items():
        if name != UNASSIGNED:
            rows[name].open_breaches += n
    for doc in _blocks(db, first, last):
        for name, counts in (doc.get("d") or {}).items():
            row = rows[name]
            for counter in ("fin", "ok", "fr", "fr_ok", "rated", "stars", "happy"):
                setattr(row, counter, getattr(row, counter) + counts.get(counter, 0))
        for name, blob in (doc.get(HISTOGRAM) or {}).items():
            rows[name].add_histogram(blob)
    return [_row(unkey(name) or "", row) for name, row in sorted(
        rows.items(), key=lambda pair: unkey(pair[0]) or "") if row.shown()]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _row(department: str, row: _Department) -> dict[str, Any]:
    median = histogram_median(row.histogram())
    return {
        "department": department,
        "backlog": row.backlog,
        "open_breaches": row.open_breaches,
        "resolved": row.fin,
        "on_time_rate": _ratio(row.ok, row.fin),
        "median_resolution_hours": None if median is None else round(median / 3600, 2),
        "first_responses": row.fr,
        "first_response_on_time_rate": _ratio(row.fr_ok, row.fr),
        "ratings": row.rated,
        "satisfaction": _ratio(row.happy, row.rated),
        "mean_rating": round(row.stars / row.rated, 2) if row.rated else None,
    }


def figures_for_days(*, db: Database, now: datetime, days: int | None,
                     tz: ZoneInfo) -> list[dict[str, Any]]:
    if days is None:
        return department_figures(db=db)
    first, last = window(now, days, tz)
    return department_figures(db=db, first=first, last=last)


def _volume_days(db: Database, first: int, last: int) -> list[dict[str, Any]]:
    return list(db[FIGURE_COUNTERS].find({"kind": "v", "start": {"$gte": first, "$lte": last}}))


def volume(*, db: Database, first: int, last: int) -> tuple[dict[int, int],
                                                             dict[str | None, int]]:
    """Tickets created per city day and per (current) category, days first..last."""
    per_day: dict[int, int] = {}
    per_category: Counter[str | None] = Counter()
    for doc in _volume_days(db, first, last):
        created = {unkey(k): n for k, n in (doc.get("created") or {}).items() if n}
        per_day[doc["start"]] = sum(created.values())
        per_category.update(created)
    return per_day, {c: n for c, n in per_category.items() if n}


@dataclass(frozen=True)
class Gauges:
    open_tickets: dict[tuple[str | None, str], int]
    open_breaches: dict[str | None, int]
    on_time: dict[str, float]
    first_response_on_time: dict[str, float]


def gauges(db: Database) -> Gauges:
    """The metrics' figures: open tickets and breaches now, all-time on-time rates."""
    now = db[FIGURE_COUNTERS].find_one({"_id": NOW}) or {}
    open_tickets = {(unkey(d), s): n for d, states in (now.get("open") or {}).items()
                    for s, n in states.items() if n}
    breaches = {unkey(d): n for d, n in (now.get("breached") or {}).items() if n}
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in _blocks(db, None, None, {"d": 1}):  # the histograms are not read
        for name, counts in (doc.get("d") or {}).items():
            totals[unkey(name) or ""].update(
                {k: v for k, v in counts.items() if k in {"fin", "ok", "fr", "fr_ok"}})
    return Gauges(
        open_tickets=open_tickets, open_breaches=breaches,
        on_time={d: c["ok"] / c["fin"] for d, c in totals.items() if c["fin"]},
        first_response_on_time={d: c["fr_ok"] / c["fr"] for d, c in totals.items()
                                if c["fr"]})


def breach_hours(db: Database, department: str | None = None) -> list[tuple[int, int]]:
    """The open breaches (all departments', or one's) as (hour of `breach_at`, how many),
    oldest first: one read of one document, whose size follows the hours that hold an open
    breach, not the tickets."""
    doc = db[FIGURE_COUNTERS].find_one({"_id": BREACH_HOURS}) or {}
    hours: Counter[int] = Counter()
    for name, counts in doc.items():
        if name in {"_id", "kind", "start"} or not isinstance(counts, dict) or \
                department is not None and name != key(department):
            continue
        for hour, n in counts.items():
            hours[int(hour)] += n
    return sorted((hour, n) for hour, n in hours.items() if n > 0)


# --- recomputation from the tickets (rebuild-figures) --------------------------------------


PAGE_TARGET = 5000  # tickets a page of the rebuild's scan aims at
FIRST_SPAN = timedelta(days=1)


def recompute(db: Database, *, tz: ZoneInfo, now: datetime, target: int = PAGE_TARGET
              ) -> tuple[dict[str, dict[str, int]], dict[str, str], dict[str, str]]:
    """The counters recomputed from every ticket, as flat documents {id: {path: n}}, each
    ticket's figures hash (by id), and of them those that differ from the stored hash."""
    total: Contribution = Counter()
    hashes: dict[str, str] = {}
    stale: dict[str, str] = {}
    cache: dict[str, dict[str, Any] | None] = {}
    for page in ticket_pages(db, FIELDS, now=now, target=target):
        for ticket in page:
            if ticket["_id"] in hashes:  # changed during the scan and read again
                continue
            counts = contribution(ticket, Tickets(db, cache=cache), tz)
            total.update(counts)
            hashes[ticket["_id"]] = digest(counts)
            if ticket.get("figures_hash") != hashes[ticket["_id"]]:
                stale[ticket["_id"]] = hashes[ticket["_id"]]
        cache.clear()  # the originals of one page's duplicates: memory stays a page's
    return by_document(_nonzero(total)), hashes, stale


def ticket_pages(db: Database, fields: Mapping[str, Any], *, now: datetime,
                 target: int = PAGE_TARGET) -> Iterator[list[dict[str, Any]]]:
    """Every ticket once or more, in pages of `updated_at` spans, the newest first: the
    embedded store gathers a query's whole result before it sends the first batch (one
    query of 600,000 tickets held 8.9 GiB), so no query asks for more than a span's tickets.
    A span widens while its pages hold under half of `target` tickets and narrows when they
    hold over twice as many; past the oldest ticket the spans double until one is unbounded
    below. Spans, not `_id` ranges: the embedded store answers a range of `_id` by reading
    every ticket (2.6 s for 100 of 40,000, where the same range of a secondary index took
    18 ms). A ticket changed during the scan moves to the newest span, already read: the
    tickets changed since `now` are read again at the end, until none is new (callers skip
    the ids they have seen)."""
    span, low = FIRST_SPAN, now - FIRST_SPAN
    query: dict[str, Any] = {"$gte": low}
    while True:
        page = list(db[TICKETS].find({"updated_at": query}, fields))
        if page:
            yield page
        if "$gte" not in query:
            break
        if len(page) < target // 2:
            span *= 2
        elif len(page) > target * 2:
            span = max(span / 2, timedelta(seconds=1))
        try:
            query = {"$gte": low - span, "$lt": low}
            low -= span
        except OverflowError:  # before year 1: the last span is unbounded below
            query = {"$lt": low}
    # tickets without `updated_at` (the index's null entries)
    if page := list(db[TICKETS].find({"updated_at": None}, fields)):
        yield page
    seen: set[str] = set()
    while fresh := [t for t in db[TICKETS].find({"updated_at": {"$gte": now}}, fields)
                    if t["_id"] not in seen]:
        seen.update(t["_id"] for t in fresh)
        yield fresh


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """A counter document's counters as {path: n}, zeros left out; a packed histogram as
    `d.<department>.h.<bucket>`."""
    out: dict[str, int] = {}
    for k, v in doc.items():
        if not prefix and k in {"_id", "kind", "start"}:
            continue
        if not prefix and k == HISTOGRAM:
            for name, blob in v.items():
                out.update({f"d.{name}.{HISTOGRAM}.{b}": n for b, n in unpack(blob).items()})
        elif isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        elif v:
            out[f"{prefix}{k}"] = v
    return out


def stored(db: Database) -> dict[str, dict[str, int]]:
    found = {doc["_id"]: flatten(doc) for doc in db[FIGURE_COUNTERS].find({})}
    return {doc_id: counts for doc_id, counts in found.items() if counts}


def _nest(counts: dict[str, int]) -> dict[str, Any]:
    """The stored form of flat counters (the inverse of `flatten`)."""
    out: dict[str, Any] = {}
    histograms: dict[str, dict[int, int]] = defaultdict(dict)
    for path, n in counts.items():
        if _is_histogram(path):
            _, name, _, b = path.split(".")
            histograms[name][int(b)] = n
            continue
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = n
    packed = {name: pack(h) for name, h in histograms.items()}
    if packed := {name: blob for name, blob in packed.items() if blob is not None}:
        out[HISTOGRAM] = packed
    return out


@dataclass(frozen=True)
class Rebuilt:
    documents: int      # counter documents the tickets give
    rewritten: int      # of them, those that differed from the stored ones (or were missing)
    removed: int        # stored documents no ticket gives any more
    hashes_set: int     # tickets whose figures hash was missing or stale


def rebuild(db: Database, *, tz: ZoneInfo, now: datetime, dry_run: bool = False) -> Rebuilt:
    """Recompute the counters from the tickets and write the documents that differ (run
    twice, the second run changes nothing). Changes made while it reads the tickets may be
    counted twice or not at all: run it while the tracker is stopped, or run it again."""
    expected, _, hashes = recompute(db, tz=tz, now=now)
    stale = [UpdateOne({"_id": ticket_id}, {"$set": {"figures_hash": value}})
             for ticket_id, value in hashes.items()]
    rewritten, removed = replace(db, expected, dry_run=dry_run)
    if not dry_run:
        for i in range(0, len(stale), 1000):
            db[TICKETS].bulk_write(stale[i:i + 1000], ordered=False)
    return Rebuilt(documents=len(expected), rewritten=rewritten, removed=removed,
                   hashes_set=len(stale))


def replace(db: Database, expected: dict[str, dict[str, int]], *,
            dry_run: bool = False) -> tuple[int, int]:
    """Make the counter documents these flat ones: (documents rewritten, removed)."""
    current = stored(db)
    if not current and not dry_run and expected:  # a first build: plain inserts
        db[FIGURE_COUNTERS].delete_many({})
        docs = [{"_id": doc_id, "kind": _kind(doc_id)[0], "start": _kind(doc_id)[1],
                 **_nest(counts)} for doc_id, counts in expected.items()]
        for i in range(0, len(docs), 500):
            db[FIGURE_COUNTERS].insert_many(docs[i:i + 500], ordered=False)
        return len(docs), 0
    writes: list[Any] = []
    for doc_id, counts in expected.items():
        if current.get(doc_id) != counts:
            kind, start = _kind(doc_id)
            writes.append(ReplaceOne({"_id": doc_id},
                                     {"kind": kind, "start": start, **_nest(counts)},
                                     upsert=True))
    rewritten = len(writes)
    gone = [doc_id for doc_id in current if doc_id not in expected]
    writes.extend(DeleteOne({"_id": doc_id}) for doc_id in gone)
    if not dry_run:
        for i in range(0, len(writes), 500):
            db[FIGURE_COUNTERS].bulk_write(writes[i:i + 500], ordered=False)
    return rewritten, len(gone)

