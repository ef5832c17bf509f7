"""Search: tracking code, words with or without diacritics, street names, and the caller's
phone number through its keyed blind index, for operators only; handlers search only their
department's tickets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.tracker.search.engine import WordsIndex
from shared.blind_index import BlindIndex, normalise_phone
from shared.settings import DEV_CONTACT_INDEX_KEY
from tests.helpers import create_from_classified
from tests.tracker.conftest import auth, classified

BLIND = BlindIndex(DEV_CONTACT_INDEX_KEY)


def _ticket(tdb, config, clock, *, description, address=None, category="traffic",
            phone=None):
    event = classified(at=clock(), description=description, category=category)
    event = event.model_copy(update={"address": address,
                                     "contact_index": BLIND.phones(phone) if phone else []})
    ticket, _ = create_from_classified(db=tdb, config=config, event=event, now=clock())
    return ticket


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [t["id"] for t in resp.json["items"]]


def test_words_with_or_without_diacritics(client, tdb, config, clock):
    flooded = _ticket(tdb, config, clock, description="Đường ngập sâu sau cơn mưa, xe chết máy.")
    _ticket(tdb, config, clock, description="Đèn đường hỏng cả tuần nay, rất tối.")
    for q in ("duong ngap", "đường ngập", "DUONG NGAP", "Đường   ngập!"):
        assert _ids(client.get("/api/v1/tickets", query_string={"q": q},
                               headers=auth("handler"))) == [flooded["_id"]]
    assert _ids(client.get("/api/v1/tickets?q=karaoke", headers=auth("handler"))) == []


def test_street_name_ranks_the_address_first(client, tdb, config, clock):
    in_text = _ticket(tdb, config, clock,
                      description="Xe tải đậu trên vỉa hè gần Điện Biên Phủ cả ngày.")
    on_street = _ticket(tdb, config, clock, description="Ổ gà lớn giữa làn xe máy.",
                        address="120 Điện Biên Phủ, Quận 3")
    found = _ids(client.get("/api/v1/tickets?q=dien bien phu", headers=auth("supervisor")))
    assert found == [on_street["_id"], in_text["_id"]]


def test_tracking_code_and_department_visibility(client, tdb, config, clock):
    ours = _ticket(tdb, config, clock, description="Đường ngập ở hẻm 12, nước lên tới gối.")
    theirs = _ticket(tdb, config, clock, category="electricity",
                     description="Đường ngập và cột điện bị nghiêng, rất nguy hiểm.")
    code = theirs["tracking_code"]
    assert _ids(client.get(f"/api/v1/tickets?q={code}", headers=auth("supervisor"))) == [
        theirs["_id"]]
    assert _ids(client.get(f"/api/v1/tickets?q={code.lower()}", headers=auth("handler"))) == []
    assert _ids(client.get("/api/v1/tickets?q=duong ngap", headers=auth("handler"))) == [
        ours["_id"]]
    both = _ids(client.get("/api/v1/tickets?q=duong ngap", headers=auth("other_handler")))
    assert both == [theirs["_id"]]


def test_phone_search_is_for_operators_only(client, tdb, config, clock):
    called = _ticket(tdb, config, clock, description="Rác thải đổ bừa bãi đầu hẻm.",
                     phone="0901234567")
    _ticket(tdb, config, clock, description="Rác thải ở chợ.", phone="0907654321")
    for spelling in ("0901234567", "+84 90 123 4567", "090.123.4567"):
        resp = client.get("/api/v1/tickets", query_string={"q": spelling},
                          headers=auth("operator"))
        assert _ids(resp) == [called["_id"]] and resp.json["kind"] == "phone"
    for role in ("handler", "supervisor", "admin"):
        denied = client.get("/api/v1/tickets?q=0901234567", headers=auth(role))
        assert denied.status_code == 403 and called["_id"] not in denied.get_data(as_text=True)
    stored = tdb["tickets"].find_one({"_id": called["_id"]})
    assert "0901234567" not in str(stored) and "901234567" not in str(stored)


def test_index_follows_new_tickets_and_moves(tdb, config, clock):
    index = WordsIndex(tdb, refresh_s=0)
    assert index.search(["ngap"], department=None, limit=10) == []
    t = _ticket(tdb, config, clock, description="Ngập nặng ở đường Lê Lợi.")
    assert index.search(["ngap"], department="so_xay_dung", limit=10) == [t["_id"]]
    clock.advance(seconds=5)
    from services.tracker.tickets.service import SYSTEM, reroute
    reroute(db=tdb, config=config, principal=SYSTEM, ticket_id=t["_id"],
            category="electricity", department=None, note=None, now=clock())
    assert index.search(["ngap"], department="so_xay_dung", limit=10) == []
    assert index.search(["ngap"], department=None, limit=10) == [t["_id"]]


def test_search_page_from_every_staff_page(client, tdb, config, clock):
    from tests.web.conftest import login

    t = _ticket(tdb, config, clock, description="Đường ngập sâu ở Quận 3.")
    login(client, "handler")
    queue = client.get("/staff/queue").get_data(as_text=True)
    assert 'role="search"' in queue and 'name="q"' in queue
    page = client.get("/staff/search?q=duong+ngap").get_data(as_text=True)
    assert t["tracking_code"] in page
    assert client.get("/staff/search?q=0901234567").status_code == 403


def test_blind_index_reads_any_digits():
    """Hypothesis found it: `\\d` matches Arabic-Indic digits, which could not be hashed."""
    assert BLIND.phone("٠٩٠١٢٣٤٥٦٧") == BLIND.phone("0901234567")


@given(st.from_regex(r"9[0-9]{8}", fullmatch=True),
       st.sampled_from(["0{}", "+84{}", "84{}", "+84 {}", "0{}."]))
def test_blind_index_ignores_spelling(digits, form):
    number = form.format(digits)
    spaced = "0" + " ".join([digits[:2], digits[2:5], digits[5:]])
    assert normalise_phone(number) == "+84" + digits
    assert BLIND.phone(number) == BLIND.phone(spaced) == BLIND.phone("+84" + digits)
    assert digits not in BLIND.phone(number)
    assert BlindIndex("another-key-of-16+chars").phone(number) != BLIND.phone(number)


def test_first_build_runs_aside_and_answers_503_meanwhile(app, client, tdb, config, clock):
    """At 100,000 tickets the first build takes longer than a request may: it runs in a
    thread of its own and the search answers 503 with Retry-After until it is done."""
    import threading

    from services.tracker.search.engine import IndexNotReady

    release = threading.Event()

    class Slow(WordsIndex):
        def refresh(self, *, force: bool = False) -> int:
            if force:
                release.wait(10)
            return super().refresh(force=force)

    t = _ticket(tdb, config, clock, description="Đường ngập sâu ở hẻm 5.")
    slow = Slow(tdb, refresh_s=0)
    app.extensions["tracker_words"] = slow
    busy = client.get("/api/v1/tickets?q=duong ngap", headers=auth("handler"))
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    with pytest.raises(IndexNotReady):
        slow.search(["ngap"], department=None, limit=5, wait_s=0.05)
    release.set()
    assert slow.ensure_built(10)
    assert _ids(client.get("/api/v1/tickets?q=duong ngap", headers=auth("handler"))) == [
        t["_id"]]
