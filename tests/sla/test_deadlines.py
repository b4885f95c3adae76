"""Deadlines stored on the ticket, recomputed on every change that affects them; clock states on the card."""
from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from bot import render_plain
from handlers.clock import FakeClock
from handlers.commands import Actor
from handlers.desk import execute_batch
from handlers.grammar import parse
from store.sla_models import SlaPause
from tests.sla.conftest import CUSTOMER, SLA, Shop, sla_runtime

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
H = timedelta(hours=1)


def dues(shop: Shop, number: int = 1001) -> tuple:
    t = shop.ticket(number)
    return t.first_response_due, t.resolution_due, t.sla_next_at


def show(shop: Shop, number: int = 1001) -> str:
    return render_plain.detail(shop.run("boss", f"show {number}").ticket)


def test_deadlines_follow_priority_and_category(shop: Shop):
    shop.run("xiaomei", "PC blue screens category:hardware")
    # normal: 1h / 1d; the next event is the first-response reminder at 75 % of 1h.
    assert dues(shop) == (T0 + H, T0 + 24 * H, T0 + 45 * timedelta(minutes=1))
    shop.clock.advance(minutes=10)
    shop.run("lao_wang", "priority 1001 urgent")  # 15m / 4h, counted from creation
    assert dues(shop) == (T0 + timedelta(minutes=15), T0 + 4 * H, T0 + timedelta(minutes=11.25))
    shop.run("lao_wang", "set 1001 category:refund")  # override: resolution 2h for refunds
    assert dues(shop)[1] == T0 + 2 * H
    shop.run("lao_wang", "comment 1001 Refund approved")  # first response at 09:10 (met)
    t = shop.ticket(1001)
    assert t.first_response_at == T0 + 10 * timedelta(minutes=1)
    # Only the resolution clock runs now: reminder at 75 % of 2h.
    assert t.sla_next_at == T0 + 90 * timedelta(minutes=1)
    text = show(shop)
    # Instants on a ticket are shown in the desk's zone (Shanghai here): 03:00 UTC is 11:00 CST.
    assert "SLA first response: met" in text and "SLA resolution: on_track (due 2026-11-02 11:00 CST)" in text


def test_waiting_pauses_the_resolution_clock_and_keeps_the_interval(shop: Shop):
    shop.run("xiaomei", "PC blue screens category:hardware")
    shop.clock.advance(hours=1)
    shop.run("lao_wang", "status 1001 waiting Replacement shipped, waiting for the customer")
    fr_due, res_due, next_at = dues(shop)
    assert res_due is None and next_at is None  # the clock is frozen: nothing to wake up for
    assert "SLA resolution: paused" in show(shop)
    shop.clock.advance(hours=2)
    shop.run("xiaomei", "status 1001 open Customer answered")
    assert dues(shop)[1] == T0 + 26 * H  # 1 day + the 2 hours it waited
    shop.clock.advance(hours=1)
    shop.run("lao_wang", "status 1001 waiting Courier again")
    shop.clock.advance(hours=3)
    shop.run("lao_wang", "status 1001 open")
    assert dues(shop)[1] == T0 + 29 * H
    with shop.runtime.desk.uow() as uow:
        pauses = [(p.reason, p.started_at - T0, p.ended_at - T0)
                  for p in uow.session.query(SlaPause).order_by(SlaPause.id)]
    assert pauses == [("waiting", H, 3 * H), ("waiting", 4 * H, 7 * H)]
    # The intervals are shown in the ticket's history.
    text = show(shop)
    assert "sla_paused (resolution clock paused while waiting)" in text
    assert ("sla_resumed (resolution clock runs again after 2h paused (2026-11-02 02:00 UTC → "
            "2026-11-02 04:00 UTC))") in text
    assert "after 3h paused" in text


def test_a_breach_before_the_pause_stays_a_breach(shop: Shop):
    shop.run("xiaomei", "Refund for broken fan category:refund")  # resolution 2h (override)
    shop.clock.advance(hours=3)
    shop.run("xiaomei", "status 1001 waiting")
    assert dues(shop)[1] == T0 + 2 * H
    assert "SLA resolution: breached" in show(shop)


def test_a_rebound_resumes_the_resolution_clock_without_the_time_it_was_resolved(shop: Shop):
    shop.run("xiaomei", "PC blue screens category:hardware")
    shop.clock.advance(hours=2)
    shop.run("lao_wang", "status 1001 resolved Module swapped")
    fr_due, res_due, _ = dues(shop)
    assert res_due == T0 + 24 * H  # the deadline it was met against stays on record
    assert "SLA resolution: met" in show(shop)
    shop.clock.advance(hours=30)
    shop.run("lao_wang", "status 1001 open Crashed again")  # a rebound
    t = shop.ticket(1001)
    assert (t.status, t.reopen_count, t.resolution_due) == ("open", 1, T0 + 54 * H)  # + 30h resolved
    assert "SLA resolution: on_track" in show(shop)


def test_clock_states_on_the_card(shop: Shop):
    shop.run("xiaomei", "PC blue screens category:hardware")
    states = []
    for minutes in (0, 46, 15):
        shop.clock.advance(minutes=minutes)
        with shop.runtime.desk.uow() as uow:
            view = shop.runtime.desk.view(uow.tickets.by_number(1001), uow)
        states.append([(c.name, c.state) for c in view.clocks])
    assert states == [
        [("first response", "on_track"), ("resolution", "on_track")],
        [("first response", "due_soon"), ("resolution", "on_track")],
        [("first response", "breached"), ("resolution", "on_track")],
    ]
    shop.run("lao_wang", "comment 1001 Sorry for the wait")
    view = shop.run("boss", "show 1001").ticket
    [fr, _] = view.clocks
    assert (fr.state, fr.due, fr.done_at) == ("missed", T0 + H, T0 + 61 * timedelta(minutes=1))


def test_business_hours_weekends_and_holidays(sqlite_url):
    # Friday 17:30 in Shanghai; the shop works Mon–Fri 09:00–18:00 and Monday 9 Nov is a holiday.
    clock = FakeClock(datetime(2026, 11, 6, 9, 30, tzinfo=UTC))
    sla = {"business_hours_only": True,
           "targets": {"normal": {"first_response": "1h", "resolution": "1d"},
                       "urgent": {"first_response": "15m", "resolution": "4h", "business_hours_only": False}},
           "calendars": {"default": {"timezone": "Asia/Shanghai", "holidays": ["2026-11-09"],
                                     "hours": {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}}}}
    rt = sla_runtime(sqlite_url, clock, sla=sla)
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", "PC blue screens category:hardware")
        # 30 minutes on Friday, the rest on Tuesday (Monday is the holiday): due Tue 09:30 CST.
        fr, res, nxt = dues(shop)
        assert fr == datetime(2026, 11, 10, 1, 30, tzinfo=UTC)
        # "1d" is 24 working hours: Fri 0.5h + Tue 9h + Wed 9h = 18.5h, the last 5.5h on Thu → 14:30 CST.
        assert res == datetime(2026, 11, 12, 6, 30, tzinfo=UTC)
        # The reminder comes at 75 % of the working time (Fri 17:30 + 45 working minutes = Tue 09:15).
        assert nxt == datetime(2026, 11, 10, 1, 15, tzinfo=UTC)
        # Urgent tickets run around the clock.
        shop.run("xiaomei", "Server down priority:urgent")
        assert dues(shop, 1002)[0] == clock.now() + timedelta(minutes=15)
        assert shop.at(days=3, hours=15, minutes=44).kinds(1001) == []  # Tue 09:14
        assert shop.at(minutes=1).kinds(1001) == ["first_response.warn"]
    finally:
        rt.engine.dispose()


@pytest.mark.asyncio
async def test_a_customer_reply_after_resolution_reopens_as_a_rebound(sqlite_url, clock):
    rt = sla_runtime(sqlite_url, clock, sla={**SLA, "customer_side": ["zhang"]}, people=CUSTOMER)
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", "PC blue screens category:hardware")
        shop.clock.advance(hours=1)
        shop.run("lao_wang", "status 1001 resolved")
        shop.clock.advance(hours=5)
        shop.run("a_jie", "comment 1001 Retested the old module: defective")  # staff: no rebound
        # The reporter is the agent who typed /ticket, not the customer: a note from her is no rebound.
        shop.run("xiaomei", "comment 1001 Called the customer, all good so far")
        assert shop.ticket(1001).status == "resolved"
        shop.clock.advance(days=1)
        shop.run("zhang", "comment 1001 The blue screen is back")  # customer_side: a rebound
        t = shop.ticket(1001)
        assert (t.status, t.reopen_count, t.resolved_at) == ("open", 1, None)
        await shop.settle()
        thread = shop.thread("warehouse", 1001)
        assert "Mr Zhang reopened #1001 — rebound #1." in thread
        assert thread[-1] == "Mr Zhang on #1001: The blue screen is back"
        assert shop.at(days=3).closed == []  # not auto-closed: it is open again
    finally:
        rt.engine.dispose()


def test_reporter_is_customer_opts_the_reporter_in(sqlite_url, clock):
    rt = sla_runtime(sqlite_url, clock, sla={**SLA, "reporter_is_customer": True})
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", "PC blue screens category:hardware")
        shop.clock.advance(hours=1)
        shop.run("lao_wang", "status 1001 resolved")
        shop.clock.advance(hours=5)
        shop.run("xiaomei", "comment 1001 Customer: the blue screen is back")  # she speaks for the customer
        assert (shop.ticket(1001).status, shop.ticket(1001).reopen_count) == ("open", 1)
    finally:
        rt.engine.dispose()


def test_the_reply_to_a_comment_that_reopens_says_so(sqlite_url, clock):
    rt = sla_runtime(sqlite_url, clock, sla={**SLA, "customer_side": ["zhang"]}, people=CUSTOMER)
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", "PC blue screens category:hardware")
        shop.run("lao_wang", "status 1001 resolved")
        assert shop.say("zhang", "comment 1001 Still broken") == (
            "Comment added to #1001. #1001 is reopened — rebound #1.")
    finally:
        rt.engine.dispose()


def test_a_ticket_paused_and_resumed_in_the_batch_that_created_it_keeps_its_clock(shop: Shop):
    # A burst runs commands together in one transaction: the later ones must see the SLA rows the earlier
    # ones hung off a ticket that did not exist before the batch.
    def cmd(who: str, text: str):
        return parse(text, Actor("console", who, display_name=who)), None

    replies = execute_batch(shop.runtime.desk, [
        cmd("xiaomei", "PC blue screens category:hardware"),
        cmd("lao_wang", "status 1001 waiting Replacement shipped"),
        cmd("xiaomei", "status 1001 open Customer answered")])
    assert [r.ok for r in replies] == [True, True, True]
    with shop.runtime.desk.uow() as uow:
        pauses = [(p.reason, p.started_at, p.ended_at) for p in uow.session.query(SlaPause)]
    assert pauses == [("waiting", T0, T0)]
    assert dues(shop)[1] == T0 + 24 * H and "SLA resolution: on_track" in show(shop)
