"""The four kinds of users in a real browser (Debian's headless Chromium driven by
Playwright), against every part running on the embedded stack: a resident files a report and
gets a tracking code; the ticket reaches the right handler's queue; the handler resolves it
with a public note; the resident's tracking page shows it resolved and takes a rating; the
supervisor's dashboard counts it. And the operator's console suggests a category while the
operator types. Screenshots of each page go to tests/artifacts/screenshots/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from services.tracker.store import TICKETS
from tests.helpers import wait_until
from tests.pipeline import services
from tests.web.conftest import PASSWORD, USERS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESCRIPTION = ("Đèn tín hiệu giao thông ở ngã tư Cách Mạng Tháng Tám - Điện Biên Phủ bị hỏng "
               "từ sáng, xe cộ chen lấn rất nguy hiểm.")

@pytest.fixture(scope="module")
def browser():
    """One Chromium (a fresh temporary profile); each user gets a context of their own, so
    cookies are never shared between the resident and the staff."""
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail("Debian's chromium is missing: `make tools` installs it (`make test` "
                    "runs that first)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


def new_page(browser, *, phone: bool = False):
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    return browser.new_context(viewport=size, locale="vi-VN").new_page()


@pytest.fixture
def shots(artifacts: Path) -> Path:
    folder = artifacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staff_login(page, tracker_url: str, role: str) -> None:
    page.goto(f"{tracker_url}/staff/login")
    page.fill("#user", USERS[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#who")


def test_report_to_rating_in_the_browser(live_pipeline, db, browser, shots):
    intake_url, tracker_url = live_pipeline.intake_url, live_pipeline.tracker_url
    code, key = _resident_files(browser, intake_url, shots)
    _handler_resolves(browser, tracker_url, db, code, shots)
    _resident_rates(browser, intake_url, code, key, shots)
    _supervisor_counts(browser, tracker_url, shots)


def _resident_files(browser, intake_url: str, shots: Path) -> tuple[str, str]:
    page = new_page(browser, phone=True)
    page.goto(f"{intake_url}/")
    page.fill("#description", "Đèn hỏng")  # too short: the form comes back with a message
    page.select_option("#district", "q3")
    page.fill("#name", "Trần Thị Bích")
    page.fill("#phone", "0912345678")
    page.click("button.primary")
    error = page.locator("#description-error")
    assert "ít nhất 10 ký tự" in error.inner_text()
    assert page.input_value("#name") == "Trần Thị Bích"  # nothing typed is lost
    assert page.input_value("#district") == "q3"
    page.screenshot(path=str(shots / "01-resident-form-error.png"), full_page=True)
    page.fill("#description", DESCRIPTION)
    page.fill("#address", "Ngã tư CMT8 - Điện Biên Phủ")
    page.screenshot(path=str(shots / "02-resident-form.png"), full_page=True)
    page.click("button.primary")
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z]{2,5}-\d{4}-\d{6,9}", code), code
    key = page.locator("#citizen-key").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{8}", key), key
    page.screenshot(path=str(shots / "03-resident-confirmation.png"), full_page=True)
    page.context.close()
    return code, key


def _handler_resolves(browser, tracker_url: str, db, code: str, shots: Path) -> None:
    page = new_page(browser)
    staff_login(page, tracker_url, "handler")

    def in_queue() -> bool:
        page.goto(f"{tracker_url}/staff/queue")
        return page.locator(f"tr[data-code='{code}']").count() == 1

    assert wait_until(in_queue, 90, 1.0), "the ticket never reached the handler's queue"
    ticket = db[TICKETS].find_one({"tracking_code": code})
    assert (ticket["category"], ticket["department"]) == ("traffic", "so_xay_dung")
    page.screenshot(path=str(shots / "04-handler-queue.png"), full_page=True)
    page.click(f"tr[data-code='{code}'] a.code")
    page.select_option("#to", "in_progress")
    page.click("#transition-form button.primary")
    page.wait_for_selector("p.notice")
    page.select_option("#to", "resolved")
    page.fill("#transition-note", "Đã thay bộ điều khiển đèn tín hiệu, đèn hoạt động lại.")
    page.check("#transition-public")
    page.click("#transition-form button.primary")
    page.wait_for_selector("p.notice")
    assert page.locator("#state").inner_text() == "Đã giải quyết"
    page.screenshot(path=str(shots / "05-handler-ticket.png"), full_page=True)
    page.context.close()


def _resident_rates(browser, intake_url: str, code: str, key: str, shots: Path) -> None:
    page = new_page(browser, phone=True)  # another session: the key must be typed in

    def resolved() -> bool:
        page.goto(f"{intake_url}/track/{code}")
        return page.locator("#status").inner_text() == "Đã giải quyết"

    assert wait_until(resolved, 20, 0.5), "the resolution never reached the tracking page"
    assert "Đã thay bộ điều khiển" in page.locator("ol.notes").inner_text()
    assert page.locator("form[action$='/rating']").count() == 0
    page.screenshot(path=str(shots / "06-resident-asked-for-key.png"), full_page=True)
    page.fill("#key", key.lower())
    page.click("form:has(#key) button")
    page.screenshot(path=str(shots / "06-resident-resolved.png"), full_page=True)
    page.check("input[name=score][value='5']")
    page.fill("#comment", "Xử lý nhanh, cảm ơn.")
    page.click("form[action$='/rating'] button")
    assert "Cảm ơn" in page.locator("p.notice").inner_text()

    def rated() -> bool:
        page.goto(f"{intake_url}/track/{code}")
        return page.locator("#rating").count() == 1

    assert wait_until(rated, 20, 0.5), "the rating never reached the tracking page"
    assert page.locator("#status").inner_text() == "Đã đóng"
    page.screenshot(path=str(shots / "07-resident-rated.png"), full_page=True)
    page.context.close()


def _supervisor_counts(browser, tracker_url: str, shots: Path) -> None:
    page = new_page(browser)
    staff_login(page, tracker_url, "supervisor")
    row = page.locator("tr[data-department='so_xay_dung']")
    assert row.locator("[data-col=resolved]").inner_text() == "1"
    assert row.locator("[data-col=ratings]").inner_text() == "1"
    assert "100,0%" in row.locator("[data-col=satisfaction]").inner_text()
    assert page.locator("#resolved-total").inner_text() == "1"
    page.screenshot(path=str(shots / "08-supervisor-dashboard.png"), full_page=True)
    page.context.close()


def test_operator_console_suggests_while_typing(env, db, classifier, browser, shots):
    with services(env, classifier) as (_, tracker_url, _settings, _tracker):
        page = new_page(browser)
        staff_login(page, tracker_url, "operator")
        page.fill("#caller_phone", "0912 345 678")
        page.fill("#call_id", "c-4242")
        page.type("#description", "Nước ngập sâu tới đầu gối trên đường Nguyễn Hữu Cảnh, "
                                  "quận Bình Thạnh, xe máy chết máy hàng loạt", delay=5)
        suggested = page.wait_for_selector("#suggested-category", timeout=10_000)
        assert suggested.get_attribute("data-code") == "flooding"
        assert page.locator("ol.top3 li").count() == 3
        assert "Bình Thạnh" in page.locator("#suggestion").inner_text()
        assert page.input_value("#category") == "flooding"  # pre-selected, still editable
        page.screenshot(path=str(shots / "09-operator-console.png"), full_page=True)
        page.click("#submit-call")
        notice = page.locator("p.notice").inner_text()
        assert "0912 345 678" in notice  # the operator sees the number it typed
        stored = db.reports.find_one({"channel": "call_center"})
        assert stored["tracking_code"] in notice
        assert stored["category_hint"] == "flooding"
        assert stored["call"]["operator_id"] == "operator.lan"
        assert "0912" not in str(stored)  # the caller's number is stored encrypted
        page.screenshot(path=str(shots / "10-operator-created.png"), full_page=True)
        page.context.close()


def test_operator_console_red_banner_while_typing(env, db, classifier, browser, shots):
    """Issue 15: a caller describing a fire makes a red banner appear as the operator types,
    telling them to send the caller to 114; it goes away for an ordinary report."""
    with services(env, classifier) as (_, tracker_url, _settings, _tracker):
        page = new_page(browser)
        staff_login(page, tracker_url, "operator")
        assert page.locator("#emergency-banner").is_hidden()
        page.type("#description", "cháy lớn ở dãy phòng trọ hẻm 42, khói đen mù mịt, có "
                                  "người mắc kẹt", delay=5)
        banner = page.wait_for_selector("#emergency-banner", state="visible", timeout=10_000)
        assert "114" in banner.inner_text()
        assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(179, 18, 27)"
        page.screenshot(path=str(shots / "11-operator-emergency-banner.png"), full_page=True)
        page.fill("#description", "")
        page.type("#description", "Cống thoát nước trước nhà số 10 đường Trần Hưng Đạo bị "
                                  "nghẹt, nước tràn lên mặt đường", delay=5)
        page.wait_for_selector("#emergency-banner", state="hidden", timeout=10_000)
        page.context.close()
