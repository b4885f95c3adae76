"""Scheduler start: open tickets whose stored deadlines predate [sla] (or its current targets) are brought up
to date once, in batches — not by one job per ticket — so their reminders fire when due."""
from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, UTC

import pytest

from handlers.clock import FakeClock
from handlers.sla.catch_up import catch_up
from tests.sla.conftest import SLA, Shop, sla_runtime

HARDWARE = "PC blue screens category:hardware"  # normal priority, auto-assigned to Lao Wang


def utc(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def actions(shop: Shop, number: int) -> list[str]:
    with shop.runtime.desk.uow() as uow:
        return [e.action for e in uow.tickets.by_number(number).events]


@pytest.mark.asyncio
async def test_tickets_opened_before_sla_was_on_get_deadlines_when_the_scheduler_starts(sqlite_url: str,
                                                                                      clock: FakeClock):
    plain = sla_runtime(sqlite_url, clock, sla={})  # no [sla]: no engine, no scheduler
    assert plain.services == []
    shop = Shop(plain, clock)
    shop.run("xiaomei", HARDWARE)  # 09:00 CST = 01:00 UTC
    shop.run("xiaomei", "Where is my courier parcel?")  # new, nobody assigned
    shop.run("xiaomei", "Memory upgrade quote category:hardware")
    shop.run("lao_wang", "status 1003 waiting Asked for the model number")
    plain.engine.dispose()

    clock.advance(minutes=10)
    rt = sla_runtime(sqlite_url, clock, chat=plain.console)
    try:
        shop = Shop(rt, clock)
        assert (shop.ticket(1001).first_response_due, shop.ticket(1001).sla_next_at) == (None, None)
        [service] = rt.services
        await service.start()  # ready at once: the catch-up is the first job, the sweeps start after it
        await service.caught_up.wait()
        await service.stop()
        t = shop.ticket(1001)  # normal: 1h / 1d from creation, reminder at 75 % (09:45 CST)
        assert (t.first_response_due, t.resolution_due, t.sla_next_at) == (utc(2), utc(1, day=3), utc(1, 45))
        assert shop.ticket(1002).sla_next_at == utc(1, 20)  # unclaimed after 20m
        # It was waiting before SLA came: its resolution clock is paused from now on.
        assert (shop.ticket(1003).resolution_due, actions(shop, 1003)[-1]) == (None, "sla_paused")

        assert shop.at(minutes=10).fired == [(1002, "unclaimed", False)]  # 09:20
        assert shop.at(minutes=25).kinds(1001) == ["first_response.warn"]  # 09:45, on time
        await shop.settle()
        assert shop.dms("lao_wang")[-1].startswith("⏰ #1001 (PC blue screens): the first response target is due "
                                                   "2026-11-02 10:00 CST")
        # Once per start: a second pass finds everything up to date and writes nothing.
        assert catch_up(rt.desk).updated == 0
    finally:
        rt.engine.dispose()


@pytest.mark.asyncio
async def test_changed_targets_reach_open_tickets_on_the_next_start(db_url: str, clock: FakeClock):
    first = sla_runtime(db_url, clock)
    shop = Shop(first, clock)
    shop.run("xiaomei", HARDWARE)  # first response due 10:00 CST, reminder 09:45
    shop.run("xiaomei", "Refund for a broken fan category:refund")
    assert shop.at(minutes=45).kinds(1001) == ["first_response.warn"]
    await shop.settle()
    first.engine.dispose()

    # Restarted with a 2h first-response target for normal tickets.
    targets = {**SLA["targets"], "normal": {"first_response": "2h", "resolution": "1d"}}
    second = sla_runtime(db_url, clock, sla={**SLA, "targets": targets}, chat=first.console)
    try:
        shop = Shop(second, clock)
        report = catch_up(second.desk, batch=1)  # batches of one: each ticket in its own transaction
        assert (report.checked, report.updated, report.batches) == (2, 2, 2)
        assert shop.ticket(1001).first_response_due == utc(3)  # 11:00 CST
        await shop.settle()
        # The reminder that was sent for 10:00 says the deadline moved; the new one comes at 75 % of 2h (10:30).
        assert shop.dms("lao_wang")[-1] == (
            "↪ #1001: the first response target is now due 2026-11-02 11:00 CST — this reminder no longer applies.")
        assert shop.at(minutes=44).kinds(1001) == []
        assert shop.at(minutes=1).kinds(1001) == ["first_response.warn"]
        assert catch_up(second.desk).updated == 0
    finally:
        second.engine.dispose()


def test_a_stopping_scheduler_ends_the_catch_up_between_batches(sqlite_url: str, clock: FakeClock):
    plain = sla_runtime(sqlite_url, clock, sla={})
    shop = Shop(plain, clock)
    for i in range(3):
        shop.run("xiaomei", f"Case {i} category:hardware")
    plain.engine.dispose()
    rt = sla_runtime(sqlite_url, clock, chat=plain.console)
    try:
        shop = Shop(rt, clock)
        asked: list[int] = []

        def stop() -> bool:  # the scheduler stops while the first batch is being caught up
            asked.append(1)
            return len(asked) > 1

        report = catch_up(rt.desk, batch=2, stop=stop)
        assert (report.checked, report.updated, report.stopped) == (2, 2, True)
        assert shop.ticket(1003).sla_next_at is None  # not reached: the next start catches it up
        assert catch_up(rt.desk).updated == 1
        assert shop.ticket(1003).sla_next_at is not None
    finally:
        rt.engine.dispose()


def test_up_to_date_tickets_are_checked_without_holding_up_commands(sqlite_url: str, clock: FakeClock):
    # SQLite has one writer: a catch-up that looked at 100,000 open tickets under the write lock kept every
    # command (and acknowledgement) waiting for the length of each look. Tickets already up to date are
    # only read — even while another process holds the write lock, the pass goes through.
    rt = sla_runtime(sqlite_url, clock)
    try:
        shop = Shop(rt, clock)
        for i in range(5):
            shop.run("xiaomei", f"{HARDWARE} {i}")
        writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            with ThreadPoolExecutor(1) as pool:
                report = pool.submit(catch_up, rt.desk, batch=2).result(timeout=10)
        finally:
            writer.rollback()
            writer.close()
        assert (report.checked, report.updated, report.batches, report.errors) == (5, 0, 3, 0)
    finally:
        rt.engine.dispose()
