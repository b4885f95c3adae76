"""The daily digest: content (counts, attainment, breaches, oldest, top categories/products), the
one-line empty day, once per (recipient, date) at local time, and `afterdesk digest`."""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date, datetime, UTC

import pytest
from sqlalchemy import event

from bot.bootstrap import Runtime
from handlers.clock import FakeClock
from scheduler import cli
from store.sla_models import DigestRun
from tests.sla.conftest import CUSTOMER, SLA, Shop, sla_runtime

DIGEST = {"recipients": {
    "chen": {"person": "boss", "timezone": "Asia/Shanghai", "at": "09:00"},
    "service-channel": {"platform": "console", "chat": "after-sales", "at": "09:30", "groups": ["service"]},
}}
# Mr Zhang speaks for the customer: his reply reopens a resolved ticket.
SLA_WITH_CUSTOMER = {**SLA, "customer_side": ["zhang"]}


@pytest.fixture
def runtime(sqlite_url: str, clock: FakeClock) -> Iterator[Runtime]:
    rt = sla_runtime(sqlite_url, clock, sla=SLA_WITH_CUSTOMER, people=CUSTOMER, digest=DIGEST)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def any_shop(db_url: str, clock: FakeClock) -> Iterator[Shop]:
    """The shop with digests on SQLite and (when AFTERDESK_TEST_DATABASE_URL is set) on PostgreSQL."""
    rt = sla_runtime(db_url, clock, sla=SLA_WITH_CUSTOMER, people=CUSTOMER, digest=DIGEST)
    yield Shop(rt, clock)
    rt.engine.dispose()


def monday(shop: Shop) -> None:
    """A Monday at the shop (clock starts Mon 2 Nov 09:00 CST)."""
    c = shop.clock
    shop.run("xiaomei", "PC blue screens category:hardware product:\"gaming PC\"")  # 1001 → Warehouse, Lao Wang
    c.advance(minutes=10)
    shop.run("lao_wang", "comment 1001 Swapping the memory")  # first response 09:10 (due 10:00): met
    c.advance(minutes=20)
    shop.run("xiaomei", "Where is my courier parcel?")  # 1002 09:30 → Customer service
    c.advance(minutes=10)
    shop.run("a_jie", "claim 1002")  # first response 09:40 (due 10:30): met
    c.advance(minutes=20)
    shop.run("xiaomei", "Refund for broken fan category:refund product:fan")  # 1003 10:00, nobody answers
    c.advance(hours=2)
    shop.run("lao_wang", "status 1001 resolved")  # 12:00
    c.advance(hours=1)
    shop.run("zhang", "comment 1001 It crashed again")  # 13:00 → rebound (customer_side)
    c.advance(hours=1)
    shop.run("xiaomei", "Memory errors in MemTest product:memory")  # 1004 14:00 → Technicians
    c.advance(minutes=20)
    shop.run("a_jie", "comment 1004 Running a second pass")  # first response 14:20: met
    c.advance(minutes=40)
    shop.run("lao_wang", "status 1001 resolved Second module swapped")  # 15:00


@pytest.mark.asyncio
async def test_digest_content_and_once_per_recipient_and_day(any_shop: Shop):
    shop = any_shop
    monday(shop)
    shop.clock.set(datetime(2026, 11, 3, 0, 59, tzinfo=UTC))  # Tue 08:59 CST
    assert shop.digests() == []
    shop.clock.advance(minutes=1)
    assert shop.digests() == [("chen", date(2026, 11, 3))]
    assert shop.digests() == []  # once per (recipient, date)
    await shop.settle()
    assert shop.dms("boss")[-1] == "\n".join([
        "📊 Afterdesk digest for Tue 2026-11-03 (Asia/Shanghai)",
        "Mon 2026-11-02: 4 created · 1 resolved · 1 reopened",
        "Open now: 3 — by status: new 2, open 1",
        "  by group: Customer service 2, Technicians 1",
        "  by assignee: unassigned 2, A-Jie 1",
        "SLA attained — first response: 75 % (3/4) on Mon 2026-11-02, 75 % (3/4) over 7 days · "
        "resolution: 50 % (1/2) on Mon 2026-11-02, 50 % (1/2) over 7 days",
        "Breached (1):",
        "  #1003 Refund for broken fan — first response due 2026-11-02 11:00 CST · unassigned",
        "Due today (2):",
        "  #1002 Where is my courier parcel? — resolution due 2026-11-03 09:30 CST · A-Jie",
        "  #1004 Memory errors in MemTest — resolution due 2026-11-03 14:00 CST · unassigned",
        "Oldest open:",
        "  #1002 Where is my courier parcel? — 23h 30m old · open · A-Jie",
        "  #1003 Refund for broken fan — 23h old · new · unassigned",
        "  #1004 Memory errors in MemTest — 19h old · new · unassigned",
        "Top categories (7 days): hardware 1, refund 1 · top products: fan 1, gaming PC 1, memory 1",
    ])
    # The channel's digest comes at its own time and only covers its groups.
    shop.clock.advance(minutes=30)
    assert shop.digests() == [("service-channel", date(2026, 11, 3))]
    await shop.settle()
    text = shop.posts("after-sales")[-1]
    assert text.splitlines()[1:3] == ["Mon 2026-11-02: 2 created · 0 resolved · 0 reopened",
                                      "Open now: 2 — by status: new 1, open 1"]
    with shop.runtime.desk.uow() as uow:
        runs = [(r.recipient, r.day, r.late) for r in uow.session.query(DigestRun).order_by(DigestRun.id)]
    assert runs == [("chen", date(2026, 11, 3), False), ("service-channel", date(2026, 11, 3), False)]
    # The next morning brings the next one.
    shop.clock.advance(days=1)
    assert sorted(shop.digests()) == [("chen", date(2026, 11, 4)), ("service-channel", date(2026, 11, 4))]


@pytest.mark.asyncio
async def test_an_empty_day_is_one_clear_line_and_a_missed_morning_is_marked_late(shop: Shop):
    shop.clock.advance(hours=1, minutes=30)  # Mon 10:30 CST: the bot was not running at 09:00
    assert shop.digests() == [("chen", date(2026, 11, 2)), ("service-channel", date(2026, 11, 2))]
    await shop.settle()
    assert shop.dms("boss") == [
        "📊 Afterdesk digest for Mon 2026-11-02: a quiet day — nothing was created, resolved or reopened on "
        "Sun 2026-11-01, and no ticket is open. — late: Afterdesk was not running at 09:00"]


def test_afterdesk_digest_prints_one_for_a_date(shop: Shop, capsys):
    monday(shop)
    parser = argparse.ArgumentParser(prog="afterdesk")
    parser.add_argument("--config")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["digest", "--to", "chen", "--date", "2026-11-03"])
    assert cli.run(args, shop.runtime.config, clock=shop.clock) == 0
    out = capsys.readouterr().out
    assert out.startswith("📊 Afterdesk digest for Tue 2026-11-03 (Asia/Shanghai)\n"
                          "Mon 2026-11-02: 4 created · 1 resolved · 1 reopened\n")
    with shop.runtime.desk.uow() as uow:
        assert uow.session.query(DigestRun).count() == 0  # printing sends and records nothing
    assert cli.run(parser.parse_args(["digest", "--to", "nobody"]), shop.runtime.config, clock=shop.clock) == 2
    assert "'nobody' is not a digest recipient (recipients: chen, service-channel)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["digest", "--to", "chen", "--date", "3 Nov"])
    assert "'3 Nov' is not a date — use YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_every_breach_is_counted_ten_are_listed_and_a_paused_clock_is_not_due(any_shop: Shop):
    shop = any_shop
    for i in range(12):
        shop.run("xiaomei", f"Case {i}")  # 1001–1012, Mon 09:00: nobody answers, first response due 10:00
    shop.run("xiaomei", "Waiting on the customer")  # 1013
    shop.run("xiaomei", "Waits after its breach priority:high")  # 1014: resolution due 17:00
    shop.clock.advance(minutes=5)
    shop.run("a_jie", "comment 1013 Please send a photo of the label")
    shop.run("a_jie", "status 1013 waiting")  # paused in time: no deadline while it waits
    shop.run("a_jie", "comment 1014 Looking into it")
    shop.clock.advance(minutes=55)
    shop.run("xiaomei", "Due tomorrow morning")  # 1015, Mon 10:00: resolution due Tue 10:00
    shop.run("a_jie", "comment 1015 On it")
    shop.clock.advance(hours=8)
    shop.run("a_jie", "status 1014 waiting")  # paused after its breach: the breach stays
    shop.clock.set(datetime(2026, 11, 3, 1, 0, tzinfo=UTC))  # Tue 09:00 CST
    assert ("chen", date(2026, 11, 3)) in shop.digests()
    await shop.settle()
    lines = shop.dms("boss")[-1].splitlines()
    start = lines.index("Breached (13):")
    assert lines[start:lines.index("Oldest open:")] == [
        "Breached (13):",
        *(f"  #{n} Case {n - 1001} — first response due 2026-11-02 10:00 CST · unassigned" for n in range(1001, 1011)),
        "  … and 3 more",
        "Due today (1):",
        "  #1015 Due tomorrow morning — resolution due 2026-11-03 10:00 CST · unassigned",
    ]
    assert "#1013" not in "\n".join(lines[:lines.index("Oldest open:")])


def test_the_digest_is_read_beside_the_writer_which_only_records_and_queues_it(shop: Shop):
    monday(shop)
    shop.clock.set(datetime(2026, 11, 3, 1, 0, tzinfo=UTC))  # Tue 09:00 CST
    seen: list[str] = []

    def log(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(shop.runtime.engine, "before_cursor_execute", log)
    try:
        assert shop.digests() == [("chen", date(2026, 11, 3))]
    finally:
        event.remove(shop.runtime.engine, "before_cursor_execute", log)
    began = [(i, s) for i, s in enumerate(seen) if s.startswith("BEGIN")]
    figures = [i for i, s in enumerate(seen) if "count(" in s and "FROM tickets" in s]
    assert figures and all(max(b for b in began if b[0] < i)[1] == "BEGIN" for i in figures)  # a WAL snapshot
    assert "BEGIN IMMEDIATE" in seen and "INSERT INTO sla_digest_runs" in "\n".join(seen)
