"""The danger-cue layer (shared/danger.py, issue 15): life-safety wording in every style is
caught, and what is over, denied or only feared is not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.danger import AMBULANCE, FIRE, POLICE, detect, guidance

DANGER = [
    ("cháy rồi cứu với, nhà số 5 đường Trần Hưng Đạo", FIRE),
    ("có đám cháy lớn ở kho hàng … khói đen mù mịt", FIRE),
    ("xì ga nồng nặc ở chung cư, sợ nổ", FIRE),
    ("tai nạn giao thông liên hoàn trên cầu Sài Gòn, nhiều người bị thương", AMBULANCE),
    ("chay nha roi cuu voi", FIRE),
    ("CHÁY!!!", FIRE),
    ("mn oi chay lon o chung cu q7 r, khoi mu mit", FIRE),
    ("thang máy kẹt 40p r, trong có ng già ngất xỉu", AMBULANCE),
    ("dây điện đứt rơi xuống đường đang tóe lửa", FIRE),
    ("hai nhóm thanh niên cầm dao đang đánh nhau, có người bị đâm", POLICE),
    ("có người đuối nước ở kênh Nhiêu Lộc", AMBULANCE),
    ("the house next door is on fire, kids inside", FIRE),
    ("strong gas leak in the stairwell", FIRE),
    ("a man with a knife is attacking people outside the bar", POLICE),
    ("m\u200bấ\u200bt đ\u200bi\u200bện, dây điện đứt tóe lửa", FIRE),
]

CALM = [
    "đám cháy đã được dập tắt hôm qua",
    "Đám cháy ở kho giấy đã được dập tắt từ tối qua, xin dọn đống đồ cháy dở",
    "bình chữa cháy hết hạn, sợ cháy",
    "lối thoát hiểm bị khóa, nguy cơ cháy nổ rất cao",
    "xe chạy quá tốc độ trong hẻm",
    "nước chảy lênh láng ra đường do vỡ ống",
    "nuoc chay lenh lang",
    "bóng đèn đường bị cháy từ tuần trước",
    "chiều nào cũng có người đốt rác, khói đen mù mịt",
    "không có ai bị thương, chỉ hư xe",
    "tháng trước ở ngã tư này xảy ra tai nạn, đèn vẫn chưa sửa",
    "đoạn đường này thường xuyên xảy ra tai nạn giao thông",
    "xe cứu thương không vào được hẻm vì ô tô đậu kín",
    "Cảm ơn các anh chị đã xử lý nhanh vụ cống nghẹt hôm trước",
    "test test 123",
    "the fire exit has been locked for months, it is a fire risk",
    "đêm nào từ 1h sáng cũng có mấy chục thanh niên cầm dao đua xe",  # habitual, not now
    "Ngày 12/10, con tôi bị một nhóm bạn đánh hội đồng ở trường",  # a dated past event
]


@pytest.mark.parametrize(("text", "number"), DANGER)
def test_life_safety_reports_are_caught_with_the_number_to_call(text, number):
    found = detect(text)
    assert found.urgent, text
    assert number in found.numbers
    assert set(found.numbers) <= {FIRE, AMBULANCE, POLICE}


@pytest.mark.parametrize("text", CALM)
def test_over_denied_feared_or_ordinary_is_not_urgent(text):
    assert not detect(text).urgent, (text, detect(text).kinds)


def test_still_going_on_overrides_the_past():
    assert detect("từ hôm qua tới giờ vẫn còn xì ga nồng nặc ở hành lang").urgent


def test_guidance_names_the_numbers_in_both_languages():
    found = detect("cháy nhà, có người bị thương")
    text = found.guidance()
    assert text is not None and text["call_now"] == [FIRE, AMBULANCE]
    assert "114" in text["vi"] and "115" in text["vi"] and "113" in text["vi"]
    assert "call 114, 115 now" in text["en"]
    assert detect("đèn đường hư").guidance() is None
    assert guidance([])["call_now"] == [FIRE, AMBULANCE, POLICE]


@given(st.text(max_size=300))
def test_any_text_gives_an_answer_and_invisible_characters_change_nothing(text):
    found = detect(text)
    assert set(found.numbers) <= {FIRE, AMBULANCE, POLICE}
    assert found.urgent == bool(found.kinds)
    spread = "\u200b".join(text)
    assert detect(spread) == found
