"""Quiet hours and backoff hold for every instant and every attempt count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.intake.notify.messages import KINDS, Links, render
from services.intake.notify.policy import backoff, quiet_until

TZ = "Asia/Ho_Chi_Minh"
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                        timezones=st.just(UTC))


@given(instants)
def test_quiet_hours_defer_to_seven_and_only_at_night(now):
    wake = quiet_until(now, tz=TZ)
    local = now.astimezone(ZoneInfo(TZ))
    night = local.hour >= 21 or local.hour < 7
    assert (wake is not None) == night
    if wake is not None:
        woken = wake.astimezone(ZoneInfo(TZ))
        assert (woken.hour, woken.minute, woken.second) == (7, 0, 0)
        assert now < wake <= now + timedelta(hours=10)
        assert quiet_until(wake, tz=TZ) is None


@given(instants, st.integers(min_value=0, max_value=23))
def test_equal_start_and_end_hours_mean_no_quiet_hours(now, hour):
    assert quiet_until(now, tz=TZ, start_hour=hour, end_hour=hour) is None


@given(st.integers(min_value=0, max_value=10_000))
def test_backoff_grows_and_stays_capped(attempts):
    delay = backoff(attempts, base_s=30, max_s=3600)
    assert timedelta(seconds=30) <= delay <= timedelta(seconds=3600)
    assert backoff(attempts + 1, base_s=30, max_s=3600) >= delay


@given(st.sampled_from(KINDS), st.sampled_from(["vi", "en"]),
       st.text(min_size=1, max_size=300))
def test_every_message_renders_with_code_link_and_unsubscribe(kind, lang, note):
    links = Links(track="https://1022.example/track/HCM-2026-000001",
                  unsubscribe="https://1022.example/notifications/unsubscribe/t")
    message = render(kind=kind, lang=lang, code="HCM-2026-000001", links=links,
                     key="K7MQ4XZP", department="so_xay_dung", note=note)
    assert "HCM-2026-000001" in message.subject and links.track in message.text
    assert links.unsubscribe in message.text
    assert links.track in message.short and len(message.short) <= 160
    # the key is the citizen's alone: only the receipt carries it (a note may quote it,
    # as hypothesis found: then the text holds it by the note, not by the message)
    assert ("K7MQ4XZP" in message.text) == (kind == "received" or "K7MQ4XZP" in note)
    assert "{" not in message.subject
