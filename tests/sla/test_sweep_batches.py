"""The sweep works in batches (one transaction each); a ticket that breaks its batch is redone alone,
so the others still fire once and the broken one waits a minute instead of failing every sweep."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from handlers.sla import alerts
from scheduler.jobs import sweep
from store.models import OutboxMessage
from tests.sla.conftest import Shop


def begins_during(shop: Shop, fn):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def log(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(shop.runtime.engine, "before_cursor_execute", log)
    try:
        return fn(), len(seen)
    finally:
        event.remove(shop.runtime.engine, "before_cursor_execute", log)


def test_due_tickets_fire_in_batches_in_due_order(shop: Shop):
    for i in range(5):
        shop.run("xiaomei", f"Case {i} category:hardware")
        shop.clock.advance(seconds=10)
    shop.clock.advance(minutes=45)

    report, transactions = begins_during(shop, lambda: sweep(shop.runtime.desk, batch=2))
    assert report.fired == [(n, "first_response.warn", False) for n in range(1001, 1006)]
    assert (report.tickets, report.errors, transactions) == (5, 0, 3)  # 2 + 2 + 1
    assert shop.sweep().fired == []


def test_a_broken_ticket_does_not_stop_its_batch(shop: Shop, monkeypatch: pytest.MonkeyPatch, caplog):
    for i in range(3):
        shop.run("xiaomei", f"Case {i} category:hardware")
    shop.clock.advance(minutes=46)
    real = alerts.process

    def process(ctx, engine, repo, ticket):  # type: ignore[no-untyped-def]
        fired = real(ctx, engine, repo, ticket)  # its alert and outbox rows are written, then it breaks
        if ticket.number == 1002:
            raise RuntimeError("bad data")
        return fired

    monkeypatch.setattr(alerts, "process", process)
    report = shop.sweep()
    assert report.fired == [(1001, "first_response.warn", False), (1003, "first_response.warn", False)]
    assert report.errors == 1
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"SLA sweep failed on ticket id {shop.ticket(1002).id}; retrying it in a minute"]
    # Nothing of the broken ticket's turn was kept; it is looked at again in a minute, not every sweep.
    assert shop.reminders(1002) == []
    assert not [m for m in shop.outbox() if m.ticket_id == shop.ticket(1002).id
                and m.payload.get("text", {}).get("key") == "sla_warn_dm"]
    assert shop.ticket(1002).sla_next_at == shop.clock.now() + timedelta(minutes=1)
    assert shop.sweep().tickets == 0

    monkeypatch.setattr(alerts, "process", real)
    assert shop.at(minutes=1).kinds() == ["first_response.warn"]
    assert [len(shop.reminders(n)) for n in (1001, 1002, 1003)] == [1, 1, 1]
    warn_dms = [m for m in shop.outbox() if isinstance(m, OutboxMessage)
                and m.payload.get("text", {}).get("key") == "sla_warn_dm"]
    assert sorted(m.ticket_id for m in warn_dms) == sorted(shop.ticket(n).id for n in (1001, 1002, 1003))
