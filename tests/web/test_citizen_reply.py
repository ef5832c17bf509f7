"""The citizen answers a ticket that waits for them: through the API and the tracking page,
text and photos, landing on the ticket (through the tracker's HTTP API) as a citizen note and
moving it back to in_progress, which resumes the resolution clock."""

from __future__ import annotations

import base64
import dataclasses
import io

import pytest
from bson import ObjectId
from PIL import Image

from services.intake.projector import apply_status
from services.intake.store import PHOTOS
from services.tracker.publisher import ticket_events
from services.tracker.staff import Principal
from services.tracker.tickets.service import transition
from shared.crypto import FieldCipher
from shared.events import ReportClassifiedV1, TicketStatusChangedV1
from tests.helpers import create_from_classified, image_bytes, live_server
from tests.web.conftest import csrf_of
from tests.web.forms import field_errors

HANDLER = Principal(user="handler.xaydung", role="handler", department="so_xay_dung")
QUESTION = "Xin gửi ảnh chụp rõ vị trí ổ gà và số nhà gần nhất."


@pytest.fixture
def waiting(intake_app, tracker_app, db, config, clock, settings):
    """A report filed on intake, its ticket in the tracker, the handler's question asked;
    intake pointed at the tracker running on a real port."""
    resident = intake_app.test_client()
    filed = resident.post("/api/v1/reports", json={
        "channel": "web", "district": "q3",
        "description": "Ổ gà lớn giữa đường Nguyễn Đình Chiểu, xe máy suýt ngã."}).json
    event = ReportClassifiedV1(
        event_id=f"{filed['report_id']}:classified", occurred_at=clock(),
        report_id=filed["report_id"], tracking_code=filed["tracking_code"], channel="web",
        description="Ổ gà lớn giữa đường", submitted_at=clock(), category="traffic",
        confidence=0.95, top3=[("traffic", 0.95)], urgent=False, district="q3",
        needs_triage=False, department="so_xay_dung", model_version="test")
    ticket, _ = create_from_classified(db=db, config=config, event=event, now=clock())
    clock.advance(minutes=10)
    asked = transition(db=db, config=config, principal=HANDLER, ticket_id=ticket["_id"],
                       to_state="waiting_citizen", note=QUESTION, public=True, now=clock())
    for _, event in ticket_events(asked):  # what the projector makes of the status events
        if isinstance(event, TicketStatusChangedV1):
            apply_status(db=db, event=event)
    with live_server(tracker_app) as tracker_url:
        deps = intake_app.extensions["intake"]
        intake_app.extensions["intake"] = dataclasses.replace(
            deps, settings=dataclasses.replace(deps.settings, tracker_url=tracker_url))
        clock.advance(hours=2)
        yield resident, filed, ticket["_id"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_api_reply_with_photo_resumes_the_ticket(waiting, db, clock, settings):
    resident, filed, ticket_id = waiting
    before = db.tickets.find_one({"_id": ticket_id})
    assert before["sla"]["clocks"]["resolution"]["paused"]
    code = filed["tracking_code"]
    wrong = resident.post(f"/api/v1/reports/{code}/replies",
                          json={"citizen_key": "AAAAAAAA", "text": "Đây ạ"})
    assert wrong.status_code == 403
    empty = resident.post(f"/api/v1/reports/{code}/replies",
                          json={"citizen_key": filed["citizen_key"]})
    assert empty.status_code == 422
    answer = resident.post(f"/api/v1/reports/{code}/replies", json={
        "citizen_key": filed["citizen_key"],
        "text": "Ổ gà trước số 120, gọi tôi 0901234567 nếu cần.",
        "photos": [{"filename": "o-ga.jpg", "content_base64": _b64(image_bytes(exif_gps=True))}]})
    assert answer.status_code == 201, answer.json
    assert answer.json["status"] == "in_progress"
    ticket = db.tickets.find_one({"_id": ticket_id})
    last = ticket["history"][-1]
    assert (last["from"], last["to"], last["citizen"], last["public"]) == (
        "waiting_citizen", "in_progress", True, False)
    assert "0901234567" not in last["note"] and "số 120" in last["note"]
    [photo_id] = last["photos"]
    stored = db[PHOTOS].find_one({"_id": ObjectId(photo_id)})
    assert stored["source"] == "reply" and str(stored["report_id"]) == filed["report_id"]
    data = FieldCipher(settings.pii_keys).decrypt_bytes(stored["data"])
    assert not Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    clocks = ticket["sla"]["clocks"]["resolution"]
    assert clocks["running"] and not clocks["paused"]
    # the two hours spent waiting for the citizen do not count
    assert clocks["elapsed_s"] == pytest.approx(before["sla"]["clocks"]["resolution"][
        "elapsed_s"], abs=1)
    again = resident.post(f"/api/v1/reports/{code}/replies",
                          json={"citizen_key": filed["citizen_key"], "text": "Còn nữa",
                                "photos": [{"content_base64": _b64(image_bytes())}]})
    assert again.status_code == 422  # no longer waiting: refused, and its photo not kept
    assert db[PHOTOS].count_documents({"source": "reply"}) == 1


def test_tracking_page_answer_with_a_photo(waiting, db):
    resident, filed, ticket_id = waiting
    code = filed["tracking_code"]
    page = resident.get(f"/track/{code}").get_data(as_text=True)
    assert QUESTION in page
    assert 'id="reply-form"' not in page
    assert 'name="key"' in page  # the key first
    resident.post(f"/track/{code}/key", data={"key": filed["citizen_key"],
                                              "csrf_token": csrf_of(page)})
    page = resident.get(f"/track/{code}").get_data(as_text=True)
    assert 'id="reply-form"' in page
    empty = resident.post(f"/track/{code}/reply", data={"csrf_token": csrf_of(page),
                                                        "text": "  "})
    assert empty.status_code == 422
    assert "text" in field_errors(empty.get_data(as_text=True))
    sent = resident.post(f"/track/{code}/reply", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(page), "text": "Ảnh chụp ổ gà đây ạ.",
        "photos": (io.BytesIO(image_bytes()), "o-ga.jpg")})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    after = resident.get(f"/track/{code}").get_data(as_text=True)
    assert 'id="reply-form"' not in after
    ticket = db.tickets.find_one({"_id": ticket_id})
    assert ticket["state"] == "in_progress"
    assert ticket["history"][-1]["note"] == "Ảnh chụp ổ gà đây ạ."
    assert len(ticket["citizen_photos"]) == 1


def test_the_link_in_the_question_message_opens_the_answer_form(waiting, intake_app,
                                                                settings):
    from services.intake.notify.links import links_for
    from services.intake.notify.messages import render

    _, filed, _ = waiting
    code = filed["tracking_code"]
    links = links_for(base_url="http://x", secret_key=settings.secret_key,
                      report_id=filed["report_id"], tracking_code=code, lang="vi")
    message = render(kind="waiting_citizen", lang="vi", code=code, links=links, note=QUESTION)
    assert links.answer in message.text and links.answer in message.short
    path = links.answer.removeprefix("http://x")
    other = intake_app.test_client()  # another device: no key typed
    assert 'id="reply-form"' not in other.get(f"/track/{code}").get_data(as_text=True)
    opened = other.get(path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("#reply-form")
    assert 'id="reply-form"' in other.get(f"/track/{code}").get_data(as_text=True)
    stranger = intake_app.test_client()
    assert stranger.get(path[:-4] + "abcd").status_code == 403  # forged
    wrong = links_for(base_url="http://x", secret_key=settings.secret_key,
                      report_id="0" * 24, tracking_code=code, lang="vi")
    assert stranger.get(wrong.answer.removeprefix("http://x")).status_code == 403
    assert 'id="reply-form"' not in stranger.get(f"/track/{code}").get_data(as_text=True)
