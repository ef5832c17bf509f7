"""Staff search at 100,000 tickets on the embedded store: the engine in use (tantivy in
memory for words, the store's indexes for codes and phone blind indexes) beside the
alternative, folded tokens in a multikey index of the store, over the same tickets and
queries in one run (alternating rounds). Prints p50/p95 of each and the ratio.

    python -m bench.search_bench            (BENCH_SEARCH_TICKETS=100000 by default)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId
from pymongo import MongoClient

from services.classifier.corpus import load_split
from services.tracker.search import service as search
from services.tracker.search.engine import WordsIndex
from services.tracker.search.tokens import tokens
from services.tracker.staff import Principal
from services.tracker.store import TICKETS, init_db
from services.tracker.tickets.repository import visible_filter
from shared.blind_index import BlindIndex
from shared.devstack import EmbeddedStack
from shared.settings import DEV_CONTACT_INDEX_KEY

TICKETS_N = int(os.environ.get("BENCH_SEARCH_TICKETS", "100000"))
QUERIES = int(os.environ.get("BENCH_SEARCH_QUERIES", "300"))
STORE_QUERIES = int(os.environ.get("BENCH_SEARCH_STORE_QUERIES", "20"))  # slow: a few
DEPARTMENTS = ["so_xay_dung", "thoat_nuoc_do_thi", "so_nong_nghiep_moi_truong", "ubnd_q1",
               "dien_luc", "so_giao_thong"]
STREETS = ["Điện Biên Phủ", "Cách Mạng Tháng Tám", "Nguyễn Thị Minh Khai", "Võ Văn Tần",
           "Lê Lợi", "Hai Bà Trưng", "Nguyễn Huệ", "Pasteur", "Lý Tự Trọng", "Trần Hưng Đạo",
           "Nguyễn Trãi", "Phạm Ngũ Lão", "Lê Văn Sỹ", "Hoàng Văn Thụ", "Xô Viết Nghệ Tĩnh"]
WORD_QUERIES = ["duong ngap", "đường ngập", "dien bien phu", "rac thai", "karaoke",
                "den giao thong", "cay do", "nuoc ban", "mat dien", "o ga", "ngap nuoc sau",
                "cach mang thang tam", "le loi", "tieng on", "lan chiem via he"]
BLIND = BlindIndex(DEV_CONTACT_INDEX_KEY)
START = datetime(2026, 6, 1, tzinfo=UTC)


def tickets(n: int) -> list[dict]:
    rng = random.Random(20)
    texts = [e.text for e in load_split("train")] + [e.text for e in load_split("validation")]
    out = []
    for i in range(n):
        created = START + timedelta(seconds=i * 90)
        doc = {"_id": str(ObjectId()), "tracking_code": f"HCM-2026-{i:07d}",
               "description": texts[i % len(texts)],
               "address": f"{rng.randint(1, 400)} {rng.choice(STREETS)}, Quận {rng.randint(1, 12)}",
               "department": DEPARTMENTS[i % len(DEPARTMENTS)], "state": "assigned",
               "category": "traffic", "created_at": created, "queue_key": created,
               "contact_index": BLIND.phones(f"09{i:08d}") if i % 10 == 0 else []}
        doc["updated_at"] = created
        doc["search_tokens"] = list(dict.fromkeys(tokens(doc["address"])
                                                  + tokens(doc["description"])))
        out.append(doc)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def queries(rng: random.Random) -> list[tuple[str, Principal]]:
    handler = Principal("h", "handler", "so_xay_dung")
    supervisor = Principal("s", "supervisor")
    operator = Principal("o", "operator")
    out = []
    for i in range(QUERIES):
        kind = i % 5
        if kind == 3:
            out.append((f"HCM-2026-{rng.randrange(TICKETS_N):07d}", supervisor))
        elif kind == 4:
            out.append((f"09{rng.randrange(0, TICKETS_N, 10):08d}", operator))
        else:
            out.append((rng.choice(WORD_QUERIES), handler if kind == 0 else supervisor))
    return out


def store_tokens(db, qs) -> list[float]:
    """The alternative measured: folded tokens in a multikey index of the store, the rarest
    word read through the index, the others checked on its tickets."""
    times = []
    for q, who in qs:
        t0 = time.perf_counter()
        visible = visible_filter(who)
        if search.CODE.match(q):
            db[TICKETS].find_one({"tracking_code": q.upper(), **visible})
        elif search.looks_like_phone(q):
            list(db[TICKETS].find({"contact_index": BLIND.phone(q), **visible}).limit(50))
        else:
            terms = tokens(q)
            counts = {t: db[TICKETS].count_documents({"search_tokens": t}) for t in terms}
            lead = min(terms, key=counts.get)
            rest = set(terms) - {lead}
            hits = [d for d in db[TICKETS].find({"search_tokens": lead, **visible},
                                                {"search_tokens": 1}).limit(2000)
                    if rest <= set(d["search_tokens"])]
            list(db[TICKETS].find({"_id": {"$in": [h["_id"] for h in hits[:50]]}}))
        times.append((time.perf_counter() - t0) * 1000)
    return times


def chosen(db, index, qs) -> list[float]:
    """The engine in use: search.search (tantivy for words, the store for codes/phones)."""
    times = []
    for q, who in qs:
        t0 = time.perf_counter()
        search.search(db=db, principal=who, q=q, blind=BLIND, index=index, limit=50)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(Path(tmp))
        stack.start()
        try:
            client = MongoClient(stack.store.uri, tz_aware=True)
            db = client["search_bench"]
            init_db(db)
            db[TICKETS].create_index("search_tokens")
            docs = tickets(TICKETS_N)
            t0 = time.perf_counter()
            for i in range(0, len(docs), 5000):
                db[TICKETS].insert_many(docs[i:i + 5000], ordered=False)
            print(f"{TICKETS_N} tickets stored in {time.perf_counter() - t0:.1f} s")
            qs = queries(random.Random(7))
            t0 = time.perf_counter()
            index = WordsIndex(db, refresh_s=3600)
            index.refresh(force=True)
            print(f"words index (tantivy, in memory) built from the store in "
                  f"{time.perf_counter() - t0:.1f} s")
            chosen(db, index, qs[:20])  # warm up
            rounds: dict[str, list[float]] = {"tantivy": [], "store": []}
            for r in range(2):  # alternating, side by side
                rounds["tantivy"] += chosen(db, index, qs)
                rounds["store"] += store_tokens(db, qs[r * STORE_QUERIES:
                                                       (r + 1) * STORE_QUERIES])
            for name, times in rounds.items():
                print(f"{name:8s}: p50 {pct(times, 50):8.1f} ms  p95 {pct(times, 95):8.1f} ms"
                      f"  ({len(times)} queries)")
            words = [t for (q, _), t in zip(qs * 2, rounds["tantivy"], strict=True)
                     if not search.CODE.match(q) and not search.looks_like_phone(q)]
            print(f"tantivy words only: p95 {pct(words, 95):.1f} ms")
            print(f"ratio p95 store/tantivy: "
                  f"{pct(rounds['store'], 95) / pct(rounds['tantivy'], 95):.1f}")
            client.close()
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
