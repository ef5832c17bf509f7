"""The permission table (role x action) is the only answer to "may this role do that": the
tickets service refuses what the table refuses, and the JSON API and the staff pages let
through exactly the roles the table lets through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.tracker.permissions import PERMISSIONS, Action, allowed
from services.tracker.staff import ROLES, Principal, Role
from services.tracker.tickets import service
from services.tracker.tickets.states import IllegalTransition
from tests.tracker.conftest import TOKENS

DEPARTMENT = "so_xay_dung"  # the department of the tickets `make_ticket` makes


def _principal(role: Role) -> Principal:
    return Principal(user=f"test-{role}", role=role,
                     department=DEPARTMENT if role == Role.HANDLER else None)


def _service_calls(tdb, config, clock, ticket: dict, triage: dict
                   ) -> dict[Action, Callable[[Principal], Any]]:
    common = {"db": tdb, "config": config, "now": clock()}
    return {
        Action.VIEW_TICKETS: lambda p: service.get_ticket(db=tdb, principal=p,
                                                          ticket_id=ticket["_id"]),
        Action.ADD_NOTE: lambda p: service.add_note(principal=p, ticket_id=ticket["_id"],
                                                    note="Đã xem", public=False, **common),
        Action.REROUTE: lambda p: service.reroute(principal=p, ticket_id=ticket["_id"],
                                                  category="electricity", department=None,
                                                  note=None, **common),
        Action.TRIAGE: lambda p: service.triage(principal=p, ticket_id=triage["_id"],
                                                category="traffic", district=None,
                                                note=None, **common),
        Action.MARK_DUPLICATE: lambda p: service.mark_duplicate(
            principal=p, ticket_id=ticket["_id"], original_id=triage["_id"], note=None,
            **common),
        Action.UNDO_DUPLICATE: lambda p: service.undo_duplicate(
            principal=p, ticket_id=ticket["_id"], reason="nhầm", **common),
        Action.CITIZEN_RATE: lambda p: service.rate(principal=p,
                                                    tracking_code=ticket["tracking_code"],
                                                    score=5, comment=None, **common),
        Action.CITIZEN_REOPEN: lambda p: service.reopen(
            principal=p, tracking_code=ticket["tracking_code"], reason="Vẫn chưa sửa",
            **common),
    }


@pytest.mark.parametrize("role", ROLES)
def test_the_service_refuses_exactly_what_the_table_refuses(tdb, config, clock, make_ticket,
                                                            role):
    for action in _service_calls(tdb, config, clock, {}, {}):
        ticket = make_ticket()
        triage = make_ticket(needs_triage=True, confidence=0.2)
        call = _service_calls(tdb, config, clock, ticket, triage)[action]
        try:
            call(_principal(role))
            refused = False
        except service.Forbidden:
            refused = True
        except (service.NotAllowed, service.Conflict, IllegalTransition):
            refused = False  # let in, refused on the merits
        assert refused == (not allowed(role, action)), (role, action)


def test_operators_do_not_reroute_in_the_service_either(tdb, config, clock, make_ticket):
    """The service used to let operators re-route while the API and the pages did not."""
    ticket = make_ticket()
    with pytest.raises(service.Forbidden):
        service.reroute(db=tdb, config=config, principal=_principal(Role.OPERATOR),
                        ticket_id=ticket["_id"], category="electricity", department=None,
                        note=None, now=clock())
    assert not allowed(Role.OPERATOR, Action.REROUTE)


API_ACTIONS: dict[str, tuple[str, Action]] = {
    "/api/v1/me": ("GET", Action.WHO_AM_I),
    "/api/v1/tickets": ("GET", Action.VIEW_TICKETS),
    "/api/v1/triage": ("GET", Action.TRIAGE),
    "/api/v1/tickets/{id}/reroute": ("POST", Action.REROUTE),
    "/api/v1/tickets/{id}/notes": ("POST", Action.ADD_NOTE),
    "/api/v1/tickets/{id}/duplicate": ("POST", Action.MARK_DUPLICATE),
    "/api/v1/tickets/bulk/transitions": ("POST", Action.BULK_TRANSITION),
    "/api/v1/stats/departments": ("GET", Action.VIEW_STATS),
    "/api/v1/citizen/{code}/rating": ("POST", Action.CITIZEN_RATE),
}


@pytest.mark.parametrize("role", [r for r in ROLES if r in TOKENS])
def test_the_api_lets_through_exactly_the_roles_of_the_table(client, make_ticket, role):
    for path, (method, action) in API_ACTIONS.items():
        ticket = make_ticket()
        url = path.replace("{id}", ticket["_id"]).replace("{code}", ticket["tracking_code"])
        resp = client.open(url, method=method, json={} if method == "POST" else None,
                           headers={"Authorization": f"Bearer {TOKENS[role]}"})
        assert (resp.status_code == 403) == (not allowed(role, action)), (role, path)


def test_the_openapi_document_names_the_roles_of_each_operation(client):
    doc = client.get("/openapi.json").json
    reroute = doc["paths"]["/api/v1/tickets/{ticket_id}/reroute"]["post"]
    assert reroute["x-roles"] == sorted(PERMISSIONS[Action.REROUTE])
    assert "operator" not in reroute["x-roles"]


def test_every_action_has_a_row_and_every_role_exists():
    assert set(PERMISSIONS) == set(Action)
    assert all(roles <= set(Role) for roles in PERMISSIONS.values())
