"""For every batch, whatever it holds: each record is either processed or set aside (never
both, never lost), outputs come only from processed ones, and each set-aside record carries
why. Pure: `Consumer.settle` without a broker."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumer import Batch, Consumer, ConsumerSpec, Output
from shared.events import ReportSubmittedV1, TicketCorrectedV1, encode_event
from shared.kafka import Outgoing
from shared.settings import Settings
from tests.consumer.conftest import raw, report

TOPIC = "in.v1"
KINDS = ("good", "undecodable", "unexpected", "reject", "unstorable", "crash")
EXPECTED_KIND = {"undecodable": "undecodable", "unexpected": "unexpected",
                 "reject": "rejected", "unstorable": "failed", "crash": "failed"}


def value(kind: str) -> bytes:
    if kind == "undecodable":
        return b"{not json"
    if kind == "unexpected":
        return encode_event(TicketCorrectedV1(
            event_id="c", occurred_at=report("x").occurred_at, report_id="r", text="t",
            old_category="noise", new_category="traffic"))
    return raw(kind)


def handler(batch: Batch) -> list[Output[str]]:
    if any(m.event.description == "crash" for m in batch.messages):
        raise ZeroDivisionError("a handler bug on this input")
    return [Output.rejected("no") if m.event.description == "reject" else
            Output(produce=(Outgoing("out", None, str(m.offset).encode()),),
                   write=m.event.description + f"@{m.offset}")
            for m in batch.messages]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(KINDS), max_size=30))
def test_every_record_is_processed_or_set_aside_once(kinds):
    stored: list[str] = []

    def apply(writes: list[str], now) -> None:
        if any(w.startswith("unstorable") for w in writes):
            raise ValueError("refused")
        stored.extend(writes)

    spec = ConsumerSpec(name="prop", group_id="g", reads={TOPIC: (ReportSubmittedV1,)},
                        handler=handler, apply=apply)
    records = [SimpleNamespace(topic=TOPIC, partition=0, offset=i, key=None, value=value(k))
               for i, k in enumerate(kinds)]
    settled = Consumer(spec, settings=Settings()).settle(records, now=None)
    dead = {d.offset: d for d in settled.dead}
    produced = {int(o.value) for o in settled.produce}
    good = {i for i, k in enumerate(kinds) if k == "good"}
    assert produced == good and settled.processed == len(good)
    assert sorted(stored) == sorted(f"good@{i}" for i in good)
    assert len(settled.dead) == len(dead) == len(kinds) - len(good)
    assert {i: d.kind for i, d in dead.items()} == {
        i: EXPECTED_KIND[k] for i, k in enumerate(kinds) if k != "good"}
    assert all(d.reason and d.value == records[d.offset].value for d in settled.dead)
    assert all(d.message(group="g").topic == f"{TOPIC}.dlq" for d in settled.dead)
