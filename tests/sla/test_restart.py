"""Restart safety: what fell due while the bot was down fires once on the next sweep, marked late."""
from __future__ import annotations

import pytest

from handlers.clock import FakeClock
from tests.sla.conftest import Shop, sla_runtime


@pytest.mark.asyncio
async def test_a_reminder_due_while_down_fires_once_on_restart_marked_late(sqlite_url: str, clock: FakeClock):
    first = sla_runtime(sqlite_url, clock)
    shop = Shop(first, clock)
    shop.run("xiaomei", "PC blue screens category:hardware")  # reminder due 09:45 CST
    await shop.settle()
    first.engine.dispose()  # the bot stops…

    clock.advance(minutes=55)  # …and comes back at 09:55, ten minutes after the reminder was due
    # The chat platform outlives the bot: its messages (and their ids) are still there.
    second = sla_runtime(sqlite_url, clock, chat=first.console)
    try:
        shop = Shop(second, clock)
        assert shop.sweep().fired == [(1001, "first_response.warn", True)]
        assert shop.sweep().fired == []
        await shop.settle()
        assert shop.dms("lao_wang")[1:] == [
            "⏰ #1001 (PC blue screens): the first response target is due 2026-11-02 10:00 CST — 5m left. "
            "(late: meant for 2026-11-02 09:45 CST — Afterdesk was not running then)"]
        [row] = shop.reminders(1001)
        assert (row.kind, row.late, row.fired_at) == ("first_response.warn", True, clock.now())
    finally:
        second.engine.dispose()

    # Another restart, much later: the breach fires once (late); the old reminder is not repeated,
    # and the escalations missed while down are not replayed one by one.
    clock.advance(hours=5)
    third = sla_runtime(sqlite_url, clock, chat=first.console)
    try:
        shop = Shop(third, clock)
        assert shop.sweep().fired == [(1001, "first_response.breach", True)]
        assert shop.sweep().fired == []
        await shop.settle()
        assert shop.posts("warehouse")[0].endswith(
            "Press Acknowledge or type /ticket ack 1001. (late: meant for 2026-11-02 10:00 CST — "
            "Afterdesk was not running then)")
        # Escalations keep the 2-hourly cadence from the breach: 16:00, not 2h after the late alert.
        assert shop.ticket(1001).sla_next_at.hour == 8  # 16:00 CST
        assert [r.kind for r in shop.reminders(1001)] == ["first_response.warn", "first_response.breach"]
    finally:
        third.engine.dispose()
