"""Follow-ups (`/ticket remind`) in the asker's time zone, and auto-close of resolved tickets."""
from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from handlers.texts import render
from store.sla_models import SlaFollowUp
from tests.sla.conftest import Shop

HARDWARE = "PC blue screens category:hardware"


def followups(shop: Shop) -> list[SlaFollowUp]:
    with shop.runtime.desk.uow() as uow:
        return list(uow.session.query(SlaFollowUp).order_by(SlaFollowUp.id))


@pytest.mark.asyncio
async def test_follow_up_fires_for_the_asker_at_their_local_time(shop: Shop):
    shop.run("xiaomei", HARDWARE)
    await shop.settle()
    # Xiaomei is in Shanghai: "tomorrow 10:00" is 02:00 UTC on Tuesday.
    assert shop.say("xiaomei", "remind 1001 tomorrow 10:00 check the blue screen has not come back") == (
        "I'll remind you about #1001 on 2026-11-03 10:00 CST: check the blue screen has not come back")
    assert shop.say("a_jie", "remind 1001 7d") == "I'll remind you about #1001 on 2026-11-09 01:00 UTC."
    [f1, f2] = followups(shop)
    assert f1.due_at == datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert f2.due_at == shop.clock.now() + timedelta(days=7)
    shop.run("lao_wang", "comment 1001 Module swapped")
    shop.run("lao_wang", "status 1001 resolved")
    await shop.settle()
    assert shop.thread("warehouse", 1001)[0] == "Xiaomei will follow up on #1001 on 2026-11-03 10:00 CST."

    assert shop.at(hours=24, minutes=59).kinds() == []
    assert shop.at(minutes=1).fired == [(1001, "followup", False)]
    await shop.settle()
    assert shop.dms("xiaomei")[-1] == (
        "🔔 Follow-up on #1001 (PC blue screens, now resolved): check the blue screen has not come back")
    assert shop.at(hours=1).fired == []
    report = shop.at(days=5, hours=21, minutes=59)  # Mon 9 Nov 08:59 CST
    assert (report.closed, report.kinds()) == ([1001], [])  # auto-closed; the 7-day follow-up waits
    assert shop.at(minutes=1).fired == [(1001, "followup", False)]
    await shop.settle()
    assert shop.dms("a_jie")[-1] == (
        "🔔 Follow-up on #1001 (PC blue screens, now closed): you asked me to remind you about this ticket.")
    assert all(f.fired_at is not None for f in followups(shop))


REMIND_CASES = [
    ("remind 1001", "'/ticket remind N' needs a time, e.g. /ticket remind 1001 7d check the blue screen has not come "
                    "back. /ticket reminders lists yours; /ticket remind N off cancels them."),
    ("remind 1001 soonish call back",
     "'soonish' is not a time I understand — use e.g. 30m, 7d, tomorrow 10:00, fri 15:00 or 2026-12-01 09:00."),
    ("remind 1001 tomorrow 25:00", "'25:00' is not a time of day — use HH:MM, e.g. 10:00."),
    ("remind 1001 2026-13-01 call", "'2026-13-01' is not a date — use YYYY-MM-DD, e.g. 2026-12-01."),
    ("remind 1001 2026-10-01 09:00", "2026-10-01 09:00 CST has already passed — pick a later time."),
    ("remind 1001 2028-01-01", "2028-01-01 09:00 CST is more than a year away — pick a time within a year."),
    ("remind 4242 7d", "There is no ticket #4242."),
    ("remind 1001 fri 15:00 call the courier",
     "I'll remind you about #1001 on 2026-11-06 15:00 CST: call the courier"),
    ("remind 1001 in 90m", "I'll remind you about #1001 on 2026-11-02 10:30 CST."),
    ("remind 1001 明天 10:00 回访客户", "I'll remind you about #1001 on 2026-11-03 10:00 CST: 回访客户"),
    ("remind 1001 2026-12-01 ask for the RMA", "I'll remind you about #1001 on 2026-12-01 09:00 CST: ask for the RMA"),
    ("remind 1001 mon", "I'll remind you about #1001 on 2026-11-09 09:00 CST."),  # today is Monday: next week
]


def test_remind_understands_times_and_says_precisely_what_is_wrong(shop: Shop):
    shop.run("xiaomei", HARDWARE)
    answers = [(command, shop.say("xiaomei", command)) for command, _ in REMIND_CASES]
    assert answers == REMIND_CASES


@pytest.mark.asyncio
async def test_resolved_tickets_close_by_themselves_with_a_notice(shop: Shop):
    shop.run("xiaomei", HARDWARE)
    shop.clock.advance(hours=1)
    shop.run("lao_wang", "status 1001 resolved Module swapped")
    assert shop.ticket(1001).sla_next_at == shop.clock.now() + timedelta(days=3)
    assert shop.at(days=3, minutes=-1).closed == []
    report = shop.at(minutes=1)
    assert report.closed == [1001]
    t = shop.ticket(1001)
    assert (t.status, t.closed_at, t.sla_next_at) == ("closed", shop.clock.now(), None)
    await shop.settle()
    assert shop.thread("warehouse", 1001)[-2:] == [
        "Afterdesk set #1001 to closed.",
        "🔒 #1001 closed automatically: resolved 3d ago with no reply from the customer."]
    assert shop.dms("xiaomei")[-1] == "#1001 (PC blue screens) is now closed — by Afterdesk."
    assert shop.at(days=3).closed == []


@pytest.mark.asyncio
async def test_follow_ups_work_without_sla_targets_but_not_without_a_scheduler(sqlite_url, clock):
    from tests.sla.conftest import sla_runtime
    from tests.support import make_runtime

    rt = sla_runtime(sqlite_url, clock, sla={}, digest={"recipients": {"chen": {"person": "boss"}}})
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", HARDWARE)
        assert shop.ticket(1001).sla_next_at is None  # no targets: no clocks
        assert shop.say("xiaomei", "remind 1001 2h").startswith("I'll remind you about #1001 on 2026-11-02 11:00 CST")
        assert shop.at(hours=2).fired == [(1001, "followup", False)]
        assert "SLA" not in render_card(shop)
    finally:
        rt.engine.dispose()
    plain = make_runtime(sqlite_url.replace("afterdesk.db", "plain.db"), clock)
    try:
        assert Shop(plain, clock).say("xiaomei", "remind 1001 2h") == (
            "SLA features are off on this desk — add an [sla] section to the config to use /ticket remind.")
    finally:
        plain.engine.dispose()


def render_card(shop: Shop) -> str:
    from bot import render_plain

    return render_plain.card(shop.run("boss", "show 1001").ticket)


def lines(shop: Shop, who: str, command: str) -> list[str]:
    return [render(t.key, t.params) for t in shop.run(who, command).texts]


@pytest.mark.asyncio
async def test_follow_ups_are_listed_and_cancelled_by_whoever_set_them(shop: Shop):
    shop.run("xiaomei", HARDWARE)
    shop.run("xiaomei", "Refund for a broken fan category:refund")
    assert shop.say("xiaomei", "reminders") == "You have no follow-ups waiting. Set one with /ticket remind N 7d [text]."
    shop.run("xiaomei", "remind 1002 7d")
    shop.run("xiaomei", "remind 1001 tomorrow 10:00 check the blue screen has not come back")
    shop.run("a_jie", "remind 1001 2d")
    # Soonest first, in the asker's zone; only their own.
    assert lines(shop, "xiaomei", "reminders") == [
        "Your follow-ups (2) — cancel those of a ticket with /ticket remind N off:",
        "#1001 PC blue screens — 2026-11-03 10:00 CST: check the blue screen has not come back",
        "#1002 Refund for a broken fan — 2026-11-09 09:00 CST"]
    assert lines(shop, "xiaomei", "reminders 1002")[1:] == ["#1002 Refund for a broken fan — 2026-11-09 09:00 CST"]
    assert shop.say("xiaomei", "reminders 4242") == "There is no ticket #4242."

    assert shop.say("xiaomei", "remind 1001 off") == "Cancelled your 1 follow-up(s) on #1001."
    assert shop.say("xiaomei", "remind 1001 cancel") == (
        "You have no follow-ups waiting on #1001. Set one with /ticket remind 1001 7d [text].")
    await shop.settle()
    assert shop.thread("warehouse", 1001)[-1] == "Xiaomei cancelled their follow-up on #1001."
    with shop.runtime.desk.uow() as uow:
        assert [e.action for e in uow.tickets.by_number(1001).events][-1] == "followup_cancelled"
    # Xiaomei's cancelled one never fires; A-Jie's still does, and Xiaomei's on #1002 still waits.
    assert [n for n, kind, _ in shop.at(hours=25, minutes=1).fired if kind == "followup"] == []
    assert [n for n, kind, _ in shop.at(hours=23).fired if kind == "followup"] == [1001]
    assert lines(shop, "xiaomei", "reminders")[1:] == ["#1002 Refund for a broken fan — 2026-11-09 09:00 CST"]
    assert shop.say("a_jie", "reminders") == "You have no follow-ups waiting. Set one with /ticket remind N 7d [text]."
