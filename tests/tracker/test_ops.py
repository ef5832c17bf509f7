"""What the operations team reads: /metrics, /readyz, /openapi.json."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.tracker.monitor import sweep
from tests.tracker.conftest import auth


def _samples(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_open_tickets_breaches_and_on_time_ratio(client, tdb, config, clock,
                                                               make_ticket):
    late = make_ticket(category="fire_safety", urgent=True)
    make_ticket(category="fire_safety", urgent=True)
    make_ticket(category="electricity")
    done = make_ticket(category="traffic")
    assert client.post(f"/api/v1/tickets/{done['_id']}/transitions", json={"to": "resolved"},
                       headers=auth("handler")).status_code == 200
    clock.advance(minutes=20)
    sweep(db=tdb, config=config, now=clock())
    samples = _samples(client)
    assert samples[("tracker_open_tickets", (("department", "canh_sat_pccc"),
                                             ("state", "assigned")))] == 2
    assert samples[("tracker_open_tickets", (("department", "dien_luc"),
                                             ("state", "assigned")))] == 1
    assert samples[("tracker_open_breaches", (("department", "canh_sat_pccc"),))] == 2
    assert samples[("tracker_on_time_ratio", (("department", "so_xay_dung"),))] == 1.0
    alerts = {labels: v for (name, labels), v in samples.items()
              if name == "tracker_sla_alerts_total"}
    assert alerts[(("clock", "first_response"), ("level", "breach"))] >= 2
    breaches = client.get("/api/v1/breaches", headers=auth("supervisor")).json
    assert {t["id"] for t in breaches["items"]} >= {late["_id"]}
    assert all(t["sla_state"] == "breached" for t in breaches["items"])


def test_readiness_and_openapi(client):
    assert client.get("/readyz").json == {"status": "ready", "checks": {"store": True}}
    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    transition = doc["paths"]["/api/v1/tickets/{ticket_id}/transitions"]["post"]
    schema = transition["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TransitionIn"}
    assert "resolved" in str(doc["components"]["schemas"]["TransitionIn"])
