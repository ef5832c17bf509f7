"""Finding 11: the operator's confirmation must not travel in the signed, unencrypted cookie."""

from __future__ import annotations

from services.intake import citizen_keys
from shared.crypto import FieldCipher
from tests.web.test_staff_form_errors import CALL


def _cookie_payloads(app, response) -> list[str]:
    serializer = app.session_interface.get_signing_serializer(app)
    payloads = []
    for header in response.headers.getlist("Set-Cookie"):
        value = header.split(";", 1)[0].split("=", 1)[1]
        payloads.append(value)
        try:
            payloads.append(str(serializer.loads(value)))
        except Exception:  # noqa: BLE001 - not a Flask session cookie: its raw value is checked
            pass
    return payloads


def test_attack_reading_the_session_cookie_gives_the_callers_phone_and_citizen_key(
        operator_with_intake, tracker_app, db, settings):
    client, token = operator_with_intake
    answer = client.post("/staff/operator", data={**CALL, "csrf_token": token,
                                                  "action": "submit", "call_nonce": "c1"})
    report = db.reports.find_one({})
    key = citizen_keys.stored_key(report, FieldCipher(settings.pii_keys))
    after = client.get("/staff/operator")
    for payload in _cookie_payloads(tracker_app, answer) + _cookie_payloads(tracker_app, after):
        assert CALL["caller_phone"] not in payload and "912345678" not in payload
        assert key not in payload
    page = answer.get_data(as_text=True)
    assert key in page and CALL["caller_phone"] in page  # read out once to the caller
    assert key not in after.get_data(as_text=True)  # shown once
