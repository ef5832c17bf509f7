"""`plain_int`: the one reading of a whole number typed into a query string."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.web.numbers import plain_int


@given(raw=st.text(max_size=6) | st.integers(-5, 200).map(str), low=st.integers(0, 10),
       span=st.integers(0, 150))
def test_a_number_is_read_only_from_ascii_digits_within_its_bounds(raw, low, span):
    high = low + span
    plain = raw.isascii() and raw.isdigit()
    expected = int(raw) if plain and low <= int(raw) <= high else None
    assert plain_int(raw, low, high) == expected


def test_digit_signs_and_other_scripts_are_not_numbers():
    assert [plain_int(raw, 1, 100) for raw in ("²", "⑨", "０９", "٩", "", "+5", " 5")] == [None] * 7
    assert plain_int("07", 1, 100) == 7 and plain_int(None, 1, 100) is None
