"""The words index: tantivy (an embedded search library), held in memory by each tracker
process and fed from the store. Chosen on measurement (bench/search_bench.py): at 20,000
tickets the folded-token multikey index in the embedded store answered in p95 1.7 s (the
store reads every posting of a common word), tantivy plus fetching the hits from the store in
22 ms. The store stays the record: the index holds only the ticket id, its department and
its folded words, and is rebuilt from the store at start.

Freshness: before a query the index takes in the tickets changed since its last look (an
indexed read on `updated_at`), at most every `refresh_s`; a ticket changed meanwhile is
deleted and added again, so department moves are followed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.database import Database

from services.tracker.search.tokens import phrase
from services.tracker.tickets import repository

log = logging.getLogger(__name__)
FIELDS = {"_id": 1, "department": 1, "description": 1, "address": 1, "updated_at": 1}
BATCH = 5000



class IndexNotReady(Exception):
    """The words index is still being built from the store."""


class WordsIndex:
    def __init__(self, db: Database, *, refresh_s: float = 0.5,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        import tantivy

        self._tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("department", stored=False, tokenizer_name="raw")
        builder.add_text_field("street", stored=False)
        builder.add_text_field("text", stored=False)
        self._schema = builder.build()
        self._index = tantivy.Index(self._schema)  # in memory
        self._writer = self._index.writer(heap_size=50_000_000, num_threads=1)
        self._db = db
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._checked = -1e18
        self._watermark: datetime | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._building = False

    def ensure_built(self, wait_s: float) -> bool:
        """The first build reads every ticket (34 s at 100,000 on the embedded store, longer
        than a request may take): it runs in a thread of its own, started on first use; the
        caller waits for it at most `wait_s`. A failed build is tried again on the next use."""
        if self._ready.is_set():
            return True
        with self._lock:
            if not self._building:
                self._building = True
                threading.Thread(target=self._build, name="words-index-build",
                                 daemon=True).start()
        return self._ready.wait(wait_s)

    def _build(self) -> None:
        try:
            self.refresh(force=True)
        except Exception:  # noqa: BLE001 - logged; the next search starts it again
            log.exception("words index not built; trying again on the next search")
            with self._lock:
                self._building = False
            return
        self._ready.set()

    def refresh(self, *, force: bool = False) -> int:
        """Take in what changed in the store since the last look; returns how many."""
        if not force and self._monotonic() - self._checked < self._refresh_s:
            return 0
        with self._lock:
            if not force and self._monotonic() - self._checked < self._refresh_s:
                return 0
            self._checked = self._monotonic()
            seen = 0
            newest = self._watermark
            for doc in repository.changed_since(self._db, since=self._watermark, fields=FIELDS,
                                                batch=BATCH):
                self._put(doc)
                seen += 1
                at = doc.get("updated_at")
                if at is not None and (newest is None or at > newest):
                    newest = at
            if seen:
                self._writer.commit()
                self._index.reload()
            self._watermark = newest
            return seen

    def _put(self, doc: dict[str, Any]) -> None:
        ticket_id = str(doc["_id"])
        self._writer.delete_documents_by_term("id", ticket_id)
        self._writer.add_document(self._tantivy.Document(
            id=ticket_id, department=doc.get("department") or "",
            street=phrase(doc.get("address")), text=phrase(doc.get("description"))))

    def search(self, terms: list[str], *, department: str | None, limit: int,
               wait_s: float = 5.0) -> list[str]:
        """Ids of the tickets holding every term (in the address or the text), best first:
        the whole phrase in the address (a street) weighs most, then in the text. Raises
        IndexNotReady while the first build is still running after `wait_s`."""
        if not self.ensure_built(wait_s):
            raise IndexNotReady()
        self.refresh()
        t, schema = self._tantivy, self._schema
        must = [(t.Occur.Must, t.Query.boolean_query([
            (t.Occur.Should, t.Query.term_query(schema, "street", term)),
            (t.Occur.Should, t.Query.term_query(schema, "text", term))])) for term in terms]
        if department is not None:
            must.append((t.Occur.Must, t.Query.term_query(schema, "department", department)))
        should = []
        if len(terms) > 1:
            should = [(t.Occur.Should, t.Query.boost_query(
                          t.Query.phrase_query(schema, "street", terms), 4.0)),
                      (t.Occur.Should, t.Query.boost_query(
                          t.Query.phrase_query(schema, "text", terms), 2.0))]
        searcher = self._index.searcher()
        hits = searcher.search(t.Query.boolean_query(must + should), limit).hits
        return [searcher.doc(address)["id"][0] for _, address in hits]
