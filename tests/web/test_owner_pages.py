"""Owners on the staff pages: take from the queue, the 'mine' and 'unassigned' views, the
supervisor's team page and bulk reassignment; the team page is for supervisors only."""

from __future__ import annotations


def test_take_from_queue_and_views(staff, make_ticket):
    t = make_ticket()
    client, csrf = staff("handler")
    page = client.get("/staff/queue?owner=none").get_data(as_text=True)
    assert t["tracking_code"] in page and f"/staff/tickets/{t['_id']}/take" in page
    taken = client.post(f"/staff/tickets/{t['_id']}/take",
                        data={"csrf_token": csrf, "next": "queue"})
    assert taken.status_code == 303
    row = f'data-code="{t["tracking_code"]}"'
    assert row not in client.get("/staff/queue?owner=none").get_data(as_text=True)
    assert row in client.get("/staff/queue?owner=me").get_data(as_text=True)
    ticket_page = client.get(f"/staff/tickets/{t['_id']}").get_data(as_text=True)
    assert "handler.xaydung" in ticket_page and "→ handler.xaydung" in ticket_page
    other, other_csrf = staff("other_handler")
    assert other.post(f"/staff/tickets/{t['_id']}/take",
                      data={"csrf_token": other_csrf}).status_code == 404


def test_team_page_and_bulk_assign(staff, make_ticket):
    tickets = [make_ticket() for _ in range(2)]
    sup, csrf = staff("supervisor")
    done = sup.post("/staff/queue/assignee", data={
        "csrf_token": csrf, "assignee": "handler.xaydung",
        "ticket_ids": [t["_id"] for t in tickets]})
    assert done.status_code == 303
    team = sup.get("/staff/team?department=so_xay_dung").get_data(as_text=True)
    assert 'data-user="handler.xaydung"' in team
    assert '<td class="n" data-col="open">2</td>' in team
    handler, _ = staff("handler")
    assert handler.get("/staff/team").status_code == 403
