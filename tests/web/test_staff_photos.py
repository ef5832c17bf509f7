"""Staff see the report's photos (and the citizen's later ones) on the ticket page, served
through the tracker with the viewer's rights; thumbnails in the page; the public never."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image

from shared.events import ReportClassifiedV1
from tests.helpers import create_from_classified, image_bytes, live_server
from tests.web.test_staff_form_errors import point_tracker_at


def _ticket_with_photo(intake_app, db, config, clock):
    resident = intake_app.test_client()
    photo = base64.b64encode(image_bytes(size=(1200, 900), exif_gps=True)).decode()
    filed = resident.post("/api/v1/reports", json={
        "channel": "web", "description": "Ổ gà lớn giữa đường Nguyễn Đình Chiểu, nguy hiểm.",
        "photos": [{"filename": "a.jpg", "content_base64": photo}]}).json
    event = ReportClassifiedV1(
        event_id="e", occurred_at=clock(), report_id=filed["report_id"],
        tracking_code=filed["tracking_code"], channel="web", description="Ổ gà lớn",
        submitted_at=clock(), category="traffic", confidence=0.95, top3=[("traffic", 0.95)],
        urgent=False, district="q3", needs_triage=False, department="so_xay_dung",
        model_version="test")
    ticket, _ = create_from_classified(db=db, config=config, event=event, now=clock())
    return resident, filed, ticket


def test_handler_sees_thumbnails_and_the_photo_others_do_not(intake_app, tracker_app, staff,
                                                              db, config, clock):
    resident, filed, ticket = _ticket_with_photo(intake_app, db, config, clock)
    with live_server(intake_app) as intake_url:
        point_tracker_at(tracker_app, intake_url=intake_url)
        client, _ = staff("handler")
        page = client.get(f"/staff/tickets/{ticket['_id']}").get_data(as_text=True)
        thumbs = re.findall(r'<img src="([^"]+size=thumb)"', page)
        assert len(thumbs) == 1
        thumb = client.get(thumbs[0].replace("&amp;", "&"))
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        assert thumb.headers["Cache-Control"] == "private, no-store"
        small = Image.open(io.BytesIO(thumb.data))
        assert max(small.size) == 320
        full = client.get(thumbs[0].split("?")[0])
        assert Image.open(io.BytesIO(full.data)).size == (1200, 900)
        assert b"PhoneMaker" not in full.data and not Image.open(
            io.BytesIO(full.data)).getexif().get_ifd(0x8825)
        # another department's handler: not found; nobody logged in: the login page
        other, _ = staff("other_handler")
        assert other.get(thumbs[0].split("?")[0]).status_code == 404
        assert tracker_app.test_client().get(thumbs[0].split("?")[0]).status_code in {302,
                                                                                       303}
        # a photo id of another report is not served under this ticket
        assert client.get(f"/staff/tickets/{ticket['_id']}/photos/{'0' * 24}").status_code \
            == 404
    # intake: staff key needed; the public API has no photos
    photo_id = thumbs[0].split("/photos/")[1].split("?")[0]
    assert resident.get(f"/api/v1/staff/reports/{filed['report_id']}/photos/"
                        f"{photo_id}").status_code == 401
    assert "photo" not in resident.get(f"/api/v1/reports/{filed['tracking_code']}").text


def test_intake_down_costs_the_page_its_photos_only(tracker_app, intake_app, staff, db,
                                                   config, clock):
    _, _, ticket = _ticket_with_photo(intake_app, db, config, clock)
    point_tracker_at(tracker_app, intake_url="http://127.0.0.1:9")
    client, _ = staff("handler")
    page = client.get(f"/staff/tickets/{ticket['_id']}")
    assert page.status_code == 200
    assert "tiếp nhận không phản hồi" in page.get_data(as_text=True)
