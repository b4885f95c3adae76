"""The sweep reads only what is due: one indexed query when nothing is, never a scan of open tickets."""
from __future__ import annotations

from sqlalchemy import event

from tests.sla.conftest import Shop


def statements_during(shop: Shop, fn):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def log(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(shop.runtime.engine, "before_cursor_execute", log)
    try:
        result = fn()
    finally:
        event.remove(shop.runtime.engine, "before_cursor_execute", log)
    return result, seen


def test_nothing_due_is_one_query_on_the_sla_next_at_index(shop: Shop):
    for i in range(12):
        shop.run("xiaomei", f"Case {i} category:hardware")
    report, statements = statements_during(shop, shop.sweep)
    assert report.tickets == 0
    [claim] = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert "sla_next_at <=" in claim and "LIMIT" in claim
    # SQLite's plan: a range search on the index, not a scan of the tickets table.
    with shop.runtime.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + claim, ("2026-11-02 01:00:00.000000", 1, 0)))
    assert "USING COVERING INDEX ix_tickets_sla_next_at (sla_next_at<?)" in plan, plan
    assert "SCAN tickets" not in plan


def test_only_due_tickets_are_loaded(shop: Shop):
    for i in range(8):
        shop.run("xiaomei", f"Case {i} category:hardware")
    shop.clock.advance(minutes=30)
    shop.run("xiaomei", "Urgent case category:hardware priority:urgent")  # 15m → reminder at 11m15s
    shop.clock.advance(minutes=12)
    report, statements = statements_during(shop, shop.sweep)
    assert report.fired == [(1009, "first_response.warn", False)]
    claims = [s for s in statements if "sla_next_at <=" in s]
    loads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM tickets" in s
             and "tickets.id IN" in s]
    assert len(claims) == 1  # fewer due than a batch: nothing more to claim
    assert len(loads) == 1  # the due ticket's row, loaded with its batch


def test_a_batch_reads_its_sla_rows_once_not_per_ticket(shop: Shop):
    for i in range(6):
        shop.run("xiaomei", f"Case {i} category:hardware")
    shop.clock.advance(minutes=46)
    report, statements = statements_during(shop, shop.sweep)
    assert report.kinds() == ["first_response.warn"] * 6
    for table in ("sla_pauses", "sla_reminders", "sla_acks", "sla_followups"):
        reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]
        assert len(reads) == 1, (table, reads)
