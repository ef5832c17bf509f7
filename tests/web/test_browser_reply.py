"""In Chromium (Debian's, through Playwright): the handler asks the resident a question, the
resident answers from the tracking page with a photo, the handler sees the answer and the
photo, and the resolution clock runs again. And the form's "use my location" button."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from services.intake.projector import run_projector
from services.tracker.publisher import Publisher
from services.tracker.store import TICKETS
from shared.clock import system_clock
from shared.events import ReportClassifiedV1
from shared.topics import REPORTS_CLASSIFIED, TICKETS_STATUS
from tests.helpers import create_from_classified, group_at_end, image_bytes, running, wait_until
from tests.web.test_browser import browser, new_page, services, shots, staff_login  # noqa: F401

QUESTION = "Xin anh/chị gửi ảnh chụp rõ vị trí đèn hỏng và số nhà gần nhất."


def test_handler_asks_resident_answers_with_a_photo(env, db, classifier, browser, shots,  # noqa: F811
                                                     tmp_path: Path):
    with services(env, classifier) as (intake_url, tracker_url, settings, tracker):
        config = tracker.extensions["tracker"].config
        resident = new_page(browser, phone=True)
        resident.goto(f"{intake_url}/")
        resident.fill("#description", "Đèn đường trước nhà số 45 Trần Hưng Đạo tắt cả tuần "
                                      "nay, buổi tối rất tối.")
        resident.click("button.primary")
        resident.wait_for_selector("#tracking-code")
        code = resident.locator("#tracking-code").inner_text().strip()
        report = db.reports.find_one({"tracking_code": code})
        event = ReportClassifiedV1(
            event_id=f"{report['_id']}:c", occurred_at=system_clock(),
            report_id=str(report["_id"]), tracking_code=code, channel="web",
            description=report["description"], submitted_at=report["submitted_at"],
            category="traffic", confidence=0.95, top3=[("traffic", 0.95)], urgent=False,
            district="q1", needs_triage=False, department="so_xay_dung", model_version="t")
        create_from_classified(db=db, config=config, event=event, now=system_clock())
        loops = (Publisher(settings=settings, db=db, clock=system_clock).run,
                 partial(run_projector, settings, db, group_id=group_at_end(
                     settings.kafka_bootstrap, REPORTS_CLASSIFIED, TICKETS_STATUS)))
        with running(*loops):
            handler = new_page(browser)
            staff_login(handler, tracker_url, "handler")
            ticket_id = db[TICKETS].find_one({"tracking_code": code})["_id"]
            handler.goto(f"{tracker_url}/staff/tickets/{ticket_id}")
            handler.select_option("#to", "waiting_citizen")
            handler.fill("#transition-note", QUESTION)
            handler.check("#transition-public")
            handler.click("#transition-form button.primary")
            handler.wait_for_selector("p.notice")
            assert db[TICKETS].find_one({"_id": ticket_id})["sla"]["clocks"]["resolution"][
                "paused"]

            def asked() -> bool:
                resident.goto(f"{intake_url}/track/{code}")
                return resident.locator("#reply-form").count() == 1

            # the browser that filed the report holds its key: the answer form comes at once
            assert wait_until(asked, 60, 0.5), "the question never reached the tracking page"
            assert QUESTION in resident.content()
            photo = tmp_path / "den-hong.jpg"
            photo.write_bytes(image_bytes(size=(800, 600), exif_gps=True))
            resident.fill("#reply-text", "Đèn ở cột số 12, trước nhà 45. Ảnh đính kèm.")
            resident.set_input_files("#reply-photos", str(photo))
            resident.screenshot(path=str(shots / "10-resident-answers.png"), full_page=True)
            resident.click("#reply-submit")
            resident.wait_for_selector("p.notice")
            assert resident.locator("#reply-form").count() == 0

            handler.goto(f"{tracker_url}/staff/tickets/{ticket_id}")
            assert handler.locator("#state").inner_text() == "Đang xử lý"
            page = handler.content()
            assert "Đèn ở cột số 12" in page and "tag citizen" in page
            thumb = handler.locator("img.inline-photo").first
            thumb.wait_for()
            size = handler.evaluate("(img) => [img.complete, img.naturalWidth]",
                                    thumb.element_handle())
            assert size == [True, 320]  # the thumbnail, loaded through the tracker
            assert len(re.findall(r'class="photos"', page)) == 1
            handler.screenshot(path=str(shots / "11-handler-sees-answer.png"), full_page=True)
            clock = db[TICKETS].find_one({"_id": ticket_id})["sla"]["clocks"]["resolution"]
            assert clock["running"] and not clock["paused"]


def test_use_my_location_fills_the_coordinates(env, db, classifier, browser):  # noqa: F811
    with services(env, classifier) as (intake_url, _, _, _):
        context = browser.new_context(geolocation={"latitude": 10.776889,
                                                   "longitude": 106.700806},
                                      permissions=["geolocation"], locale="vi-VN")
        page = context.new_page()
        page.goto(f"{intake_url}/")
        assert page.is_visible("#use-location")
        page.click("#use-location")
        page.wait_for_function("document.getElementById('lat').value !== ''")
        assert page.input_value("#lat") == "10.776889"
        assert page.input_value("#long") == "106.700806"
        context.close()
        # without JavaScript the button stays hidden and the form is as before
        plain = browser.new_context(java_script_enabled=False)
        page = plain.new_page()
        page.goto(f"{intake_url}/")
        assert not page.is_visible("#use-location") and page.is_visible("#lat")
        plain.close()
