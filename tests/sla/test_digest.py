"""The daily digest: content (counts, attainment, breaches, oldest, top categories/products), the
one-line empty day, once per (recipient, date) at local time, and `afterdesk digest`."""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date, datetime, timedelta, UTC

import pytest

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


def test_attainment_counts_each_clock_once():
    from handlers.sla.digest import attainment
    from store.sla_repository import ClockRow

    t = datetime(2026, 11, 2, tzinfo=UTC)
    h = timedelta(hours=1)
    rows = [
        ClockRow(1, t + h, t + h / 2, t + 5 * h, t + 4 * h, None, "resolved"),      # both met
        ClockRow(2, t + h, t + 3 * h, t + 5 * h, None, None, "open"),               # both missed (at their due)
        ClockRow(3, t + h, None, None, None, None, "waiting"),                      # never answered; paused resolution
        ClockRow(4, t + 30 * h, None, t + 40 * h, None, None, "new"),               # due tomorrow: not yet counted
    ]
    day = attainment(rows, t, t + 24 * h, now=t + 26 * h)
    assert day == {"first_response": (1, 3), "resolution": (1, 2)}
