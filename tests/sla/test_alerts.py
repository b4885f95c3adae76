"""Reminders, breaches, re-escalation, acknowledge, self-clearing, unclaimed alerts — by moving the clock."""
from __future__ import annotations

import pytest

from tests.sla.conftest import Shop

HARDWARE = "PC blue screens category:hardware"  # → Warehouse (managers: boss), assigned to Lao Wang


@pytest.mark.asyncio
async def test_reminder_at_75_percent_goes_to_the_assignee_and_the_thread_once(shop: Shop):
    shop.run("xiaomei", HARDWARE)  # 09:00 CST; normal: first response 1h → due 10:00, reminder 09:45
    await shop.settle()
    assert shop.at(minutes=44).fired == []
    report = shop.at(minutes=1)
    assert report.fired == [(1001, "first_response.warn", False)]
    await shop.settle()
    assert shop.dms("lao_wang")[-1] == (
        "⏰ #1001 (PC blue screens): the first response target is due 2026-11-02 10:00 CST — 15m left.")
    assert shop.thread("warehouse", 1001) == [
        "⏰ The first response target of #1001 is due 2026-11-02 10:00 CST (15m left) — assignee: Lao Wang."]
    assert "SLA first response: due_soon" in shop.card("warehouse", 1001).text
    # Fires once per (ticket, kind, deadline), however often the sweep runs.
    assert shop.sweep().fired == [] and shop.at(minutes=5).fired == []
    [row] = shop.reminders(1001)
    assert (row.kind, row.late, len(row.message_ids)) == ("first_response.warn", False, 2)


@pytest.mark.asyncio
async def test_breach_alerts_channel_and_managers_then_reescalates_until_acknowledged(any_shop: Shop):
    shop = any_shop
    shop.run("xiaomei", HARDWARE)
    await shop.settle()
    # The sweep comes at 10:00 sharp: the deadline passed, so no stale "due soon" reminder is sent.
    assert shop.at(minutes=60).fired == [(1001, "first_response.breach", False)]
    await shop.settle()
    breach = ("🚨 #1001 (PC blue screens) missed its first response target (due {due}). Group: Warehouse · "
              "assignee: Lao Wang. Press Acknowledge or type /ticket ack 1001.")
    assert shop.posts("warehouse") == [breach.replace("{due}", "2026-11-02 10:00 CST")]
    assert shop.dms("boss") == [  # boss reads in UTC; the DM is in his zone
        "🚨 #1001 (PC blue screens) missed its first response target (due 2026-11-02 02:00 UTC). "
        "Assignee: Lao Wang. Press Acknowledge or type /ticket ack 1001."]
    assert shop.thread("warehouse", 1001)[-1] == (
        "🚨 #1001 missed its first response target (due 2026-11-02 10:00 CST); the managers are alerted.")
    assert "SLA first response: breached" in shop.card("warehouse", 1001).text

    assert shop.at(minutes=119).fired == []
    assert shop.at(minutes=1).fired == [(1001, "first_response.escalate", False)]  # every 2h
    assert shop.at(hours=2).fired == [(1001, "first_response.escalate", False)]
    await shop.settle()
    assert shop.posts("warehouse")[1:] == [
        "🚨 Escalation 1: #1001 (PC blue screens) is still past its first response target — due 2026-11-02 10:00 "
        "CST, 2h ago. Assignee: Lao Wang. Press Acknowledge or type /ticket ack 1001.",
        "🚨 Escalation 2: #1001 (PC blue screens) is still past its first response target — due 2026-11-02 10:00 "
        "CST, 4h ago. Assignee: Lao Wang. Press Acknowledge or type /ticket ack 1001."]
    assert len(shop.dms("boss")) == 3

    assert shop.say("boss", "ack 1001") == (
        "Acknowledged: escalations for #1001 (first response) stop. They start again only if it misses a new deadline.")
    await shop.settle()
    # Every alert of that breach now says who took it; no more escalations.
    acked = ("🟡 #1001 (PC blue screens): the first response breach (due 2026-11-02 10:00 CST) was acknowledged "
             "by Manager Chen (2026-11-02 14:00 CST) — escalations stopped.")
    assert shop.posts("warehouse") == [acked] * 3
    assert all("acknowledged by Manager Chen" in t for t in shop.dms("boss"))
    assert shop.thread("warehouse", 1001)[-1] == "🟡 Manager Chen acknowledged the first response breach of #1001; escalations stop."
    assert shop.at(hours=2).fired == [] and shop.at(hours=6).fired == []
    assert shop.say("boss", "ack 1001").startswith("#1001's breach was already acknowledged by Manager Chen (")
    assert shop.ticket(1001).sla_next_at is not None  # the resolution clock still runs

    # The first response finally comes: the alerts clear.
    shop.run("lao_wang", "comment 1001 Swapping the memory module today")
    await shop.settle()
    assert shop.posts("warehouse")[0] == (
        "✅ #1001: first response given by Lao Wang (2026-11-02 22:00 CST) — this breach alert is cleared.")
    assert [r.cleared_reason for r in shop.reminders(1001)] == ["first_response"] * 3


@pytest.mark.asyncio
async def test_acknowledge_needs_a_breach(shop: Shop):
    shop.run("xiaomei", HARDWARE)
    assert shop.say("boss", "ack 1001") == "#1001 has no breached SLA clock to acknowledge."
    assert shop.say("boss", "ack 4242") == "There is no ticket #4242."
    assert shop.say("boss", "ack") == "'/ticket ack' needs a ticket number, e.g. /ticket ack 1001."
    # The Acknowledge button sends the same command object.
    from handlers.commands import Actor
    from handlers.sla.commands import Acknowledge

    shop.at(minutes=60)
    reply = shop.runtime.execute(Acknowledge(Actor("console", "boss"), number=1001, dedup_keys=("btn:1",)))
    assert reply.ok and reply.ticket.number == 1001
    assert shop.runtime.execute(Acknowledge(Actor("console", "boss"), number=1001, dedup_keys=("btn:1",))).duplicate


@pytest.mark.asyncio
async def test_reminder_messages_are_edited_when_the_condition_clears(shop: Shop):
    shop.run("xiaomei", HARDWARE + " priority:urgent")  # urgent: first response 15m, resolution 4h
    await shop.settle()
    shop.at(minutes=12)  # 09:12 — 75 % of 15m has run
    await shop.settle()
    dm = shop.runtime.console.chats["@lao_wang"][-1]
    assert dm.text.startswith("⏰ #1001 (PC blue screens): the first response target is due 2026-11-02 09:15 CST")
    shop.clock.advance(minutes=1)
    shop.run("lao_wang", "comment 1001 On it")
    await shop.settle()
    # The very same DM and thread notice now say the condition cleared — no stale alarm stays red.
    assert (dm.text, dm.edits) == ("✅ #1001: first response given by Lao Wang (2026-11-02 09:13 CST) — "
                                   "this reminder is cleared.", 1)
    assert shop.thread("warehouse", 1001)[0] == dm.text
    [row] = shop.reminders(1001)
    assert row.cleared_reason == "first_response" and row.cleared_at == shop.clock.now()

    assert shop.at(hours=2, minutes=47).fired == [(1001, "resolution.warn", False)]  # 12:00: 3h of the 4h
    await shop.settle()
    dm = shop.runtime.console.chats["@lao_wang"][-1]
    assert dm.text == "⏰ #1001 (PC blue screens): the resolution target is due 2026-11-02 13:00 CST — 1h left."
    shop.clock.advance(minutes=13)
    shop.run("lao_wang", "status 1001 resolved Module swapped, stable")
    await shop.settle()
    assert dm.text == "✅ #1001 is resolved (2026-11-02 12:13 CST) — this reminder is cleared."
    assert "SLA resolution: met" in shop.card("warehouse", 1001).text


@pytest.mark.asyncio
async def test_a_deadline_that_moves_rewrites_its_reminder(shop: Shop):
    shop.run("xiaomei", HARDWARE)
    shop.at(minutes=45)
    await shop.settle()
    shop.run("lao_wang", "priority 1001 low")  # low: first response 4h → due 13:00
    await shop.settle()
    assert shop.dms("lao_wang")[-1] == (
        "↪ #1001: the first response target is now due 2026-11-02 13:00 CST — this reminder no longer applies.")
    # …and a reminder for the new deadline comes at its own 75 % (12:00).
    assert shop.at(hours=2, minutes=14).fired == []
    assert shop.at(minutes=1).fired == [(1001, "first_response.warn", False)]


@pytest.mark.asyncio
async def test_unclaimed_new_ticket_alerts_its_group_and_clears_when_taken(shop: Shop):
    shop.run("xiaomei", "Where is my courier parcel?")  # → Customer service, nobody assigned
    shop.run("xiaomei", HARDWARE)  # auto-assigned: never "unclaimed"
    await shop.settle()
    assert shop.at(minutes=19).fired == []
    assert shop.at(minutes=1).fired == [(1001, "unclaimed", False)]
    await shop.settle()
    assert shop.posts("after-sales") == [
        "👋 #1001 (Where is my courier parcel?) has waited 20m and nobody has taken it. Take it with /ticket claim 1001."]
    assert shop.posts("warehouse") == []
    shop.clock.advance(minutes=5)
    shop.run("xiaomei", "claim 1001")
    await shop.settle()
    assert shop.posts("after-sales") == [
        "✅ #1001 was taken by Xiaomei (2026-11-02 09:25 CST) — this alert is cleared."]
    assert shop.at(hours=1).kinds(1001) != ["unclaimed"]
    assert [r.kind for r in shop.reminders(1001)].count("unclaimed") == 1


@pytest.mark.asyncio
async def test_no_alert_for_a_priority_without_targets(sqlite_url, clock):
    from tests.sla.conftest import Shop as S, sla_runtime

    rt = sla_runtime(sqlite_url, clock, sla={"targets": {"urgent": {"first_response": "15m"}}, "unclaimed_after": "off"})
    try:
        shop = S(rt, clock)
        shop.run("xiaomei", HARDWARE)
        assert shop.ticket(1001).sla_next_at is None
        assert shop.at(days=3).fired == []
        await shop.settle()
        assert "SLA" not in shop.card("warehouse", 1001).text
    finally:
        rt.engine.dispose()


@pytest.mark.asyncio
async def test_an_unclaimed_alert_also_clears_when_the_ticket_moves_on_without_an_owner(shop: Shop):
    shop.run("xiaomei", "Where is my courier parcel?")
    await shop.settle()
    shop.at(minutes=20)
    await shop.settle()
    shop.run("xiaomei", "status 1001 resolved Parcel found at the neighbour's")
    await shop.settle()
    assert shop.posts("after-sales") == ["✅ #1001 is resolved (2026-11-02 09:20 CST) — this alert is cleared."]


def warn_messages(shop: Shop) -> list[str]:
    """Outbox rows that sent a reminder (DM or thread notice); edits of them are not counted."""
    return [m.kind for m in shop.outbox()
            if m.kind != "edit" and m.payload.get("text", {}).get("key") in ("sla_warn_dm", "sla_warn_notice")]


@pytest.mark.asyncio
async def test_the_resolution_reminder_fires_once_however_often_the_ticket_waits(shop: Shop):
    shop.run("xiaomei", HARDWARE + " priority:urgent")  # resolution 4h → reminder at 12:00 CST
    shop.clock.advance(minutes=5)
    shop.run("lao_wang", "comment 1001 On it")  # first response given: only the resolution clock runs
    assert shop.at(hours=2, minutes=55).fired == [(1001, "resolution.warn", False)]
    assert warn_messages(shop) == ["notice", "dm"]
    # Waiting pauses the clock (the reminder says so), running again moves the deadline: neither is a new cycle.
    for _ in range(3):
        shop.clock.advance(minutes=5)
        shop.run("lao_wang", "status 1001 waiting Asked the customer for a photo")
        assert shop.at(minutes=10).fired == []
        shop.run("xiaomei", "status 1001 open Photo received")
        assert shop.sweep().fired == [] and shop.at(minutes=1).fired == []
    assert warn_messages(shop) == ["notice", "dm"]
    assert [(r.kind, r.cleared_reason) for r in shop.reminders(1001)] == [("resolution.warn", "paused")]
    await shop.settle()
    assert [t for t in shop.dms("lao_wang") if t.startswith("⏰")] == []  # the one reminder was edited
    # The next alert is the breach at the deadline moved by the 30 minutes spent waiting (13:30 CST).
    due = shop.ticket(1001).resolution_due
    assert due.hour == 5 and due.minute == 30
    shop.clock.advance(due - shop.clock.now())
    assert shop.sweep().fired == [(1001, "resolution.breach", False)]


@pytest.mark.asyncio
async def test_a_reopened_ticket_starts_a_new_cycle_that_may_remind_again(shop: Shop):
    shop.run("xiaomei", HARDWARE + " priority:urgent")
    shop.clock.advance(minutes=5)
    shop.run("lao_wang", "comment 1001 On it")
    assert shop.at(hours=2, minutes=55).kinds() == ["resolution.warn"]  # 12:00
    shop.run("lao_wang", "status 1001 waiting")
    shop.clock.advance(minutes=10)
    shop.run("lao_wang", "status 1001 open")
    shop.run("lao_wang", "status 1001 resolved Fixed")
    shop.clock.advance(hours=1)
    shop.run("lao_wang", "status 1001 open It crashed again")  # a rebound: the clock's second run
    assert shop.sweep().kinds() == ["resolution.warn"]  # 3h10m of 4h have run: remind again, once
    assert shop.sweep().kinds() == [] and shop.at(minutes=5).kinds() == []
    assert warn_messages(shop) == ["notice", "dm"] * 2
