"""One rule decides "due soon": the business-time instant the reminder fires at (clocks.SlaClock.state).
The wall-clock shortcut that used to live beside it (business_time.clock_state) disagreed over nights and
weekends, so it is gone."""
from __future__ import annotations

from datetime import datetime, UTC

import handlers.sla as sla
import handlers.sla.business_time as bt
from handlers.clock import FakeClock
from tests.sla.conftest import Shop, sla_runtime

WORKWEEK = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def test_there_is_no_second_clock_state_rule():
    assert not hasattr(bt, "clock_state") and "clock_state" not in sla.__all__


def test_due_soon_on_the_card_starts_when_the_reminder_fires_not_over_the_weekend(sqlite_url: str):
    # Fri 2026-11-06 17:00 CST; 4h of working time: Fri 1h + Mon 3h → due Mon 12:00, reminder at 3h → Mon 11:00.
    clock = FakeClock(datetime(2026, 11, 6, 9, 0, tzinfo=UTC))
    sla = {"business_hours_only": True, "targets": {"normal": {"first_response": "4h"}}, "unclaimed_after": "off",
           "calendars": {"default": {"timezone": "Asia/Shanghai", "hours": WORKWEEK}}}
    rt = sla_runtime(sqlite_url, clock, sla=sla)
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", "PC blue screens category:hardware")
        t = shop.ticket(1001)
        assert (t.first_response_due, t.sla_next_at) == (datetime(2026, 11, 9, 4, tzinfo=UTC),
                                                         datetime(2026, 11, 9, 3, tzinfo=UTC))

        def state() -> str:
            [clock_view] = shop.run("boss", "show 1001").ticket.clocks
            return clock_view.state

        # Sunday 19:15 CST: 75 % of the wall-clock span has passed, but only 1h of the 4 working hours.
        clock.set(datetime(2026, 11, 8, 11, 15, tzinfo=UTC))
        assert (state(), shop.sweep().fired) == ("on_track", [])
        clock.set(datetime(2026, 11, 9, 2, 59, tzinfo=UTC))  # Mon 10:59
        assert (state(), shop.sweep().fired) == ("on_track", [])
        clock.set(datetime(2026, 11, 9, 3, 0, tzinfo=UTC))  # Mon 11:00: the reminder and "due soon" together
        assert (state(), shop.sweep().fired) == ("due_soon", [(1001, "first_response.warn", False)])
        clock.set(datetime(2026, 11, 9, 4, 0, tzinfo=UTC))  # Mon 12:00: breached as the breach alert fires
        assert (state(), shop.sweep().fired) == ("breached", [(1001, "first_response.breach", False)])
    finally:
        rt.engine.dispose()
