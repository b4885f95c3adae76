"""Delivery after commit: order per chat, pacing and retries, parking, and crash safety."""
from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from bot.delivery import Delivered, Delivery, RetryLater, TransientError
from handlers.commands import Actor
from handlers.grammar import parse
from tests.support import make_runtime


def run(rt, who, text):
    return rt.execute(parse(text, Actor("console", who)))


class ScriptedSender:
    """Our own Sender interface with scripted failures (no platform SDK involved)."""

    platform = "console"
    min_interval = 0.0

    def __init__(self, failures=None):
        self.failures = list(failures or [])
        self.sent: list[Delivery] = []
        self.attempts = 0

    async def deliver(self, item: Delivery) -> Delivered:
        self.attempts += 1
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
        self.sent.append(item)
        return Delivered(message_id=f"m{len(self.sent)}", chat_id=item.chat_id)


@pytest.mark.asyncio
async def test_card_first_then_notices_in_its_thread_and_card_edited_in_place(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    run(rt, "xiaomei", "Blue screen category:hardware")
    await rt.dispatcher.drain()
    run(rt, "lao_wang", "status 1001 waiting customer to send photos")
    run(rt, "lao_wang", "priority 1001 urgent")
    await rt.dispatcher.drain()
    (card,) = rt.console.chats["warehouse"]
    assert card.text.startswith("⏳ #1001 Blue screen — WAITING · 🔴 urgent")
    assert card.edits == 1  # two changes, one redraw: the older refresh was superseded
    assert [r.text for r in card.replies] == [
        "Lao Wang set #1001 to waiting: customer to send photos",
        "Lao Wang changed #1001 priority from normal to urgent.",
    ]
    rt.engine.dispose()


@pytest.mark.asyncio
async def test_rate_limits_and_transient_errors_are_retried_in_order_and_nothing_is_lost(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    sender = ScriptedSender([RetryLater(0.01), None, TransientError("reset"), RetryLater(0.01)])
    rt.dispatcher.senders["console"] = sender
    run(rt, "xiaomei", "Case one")
    for i in range(5):
        run(rt, "xiaomei", f"comment 1001 note {i}")
    await rt.dispatcher.drain()
    texts = [d.text.params["body"] for d in sender.sent if d.kind == "notice"]
    assert texts == [f"note {i}" for i in range(5)]
    assert [d.kind for d in sender.sent] == ["card"] + ["notice"] * 5
    with rt.desk.uow() as uow:
        assert {r.status for r in uow.outbox.by_status("sent")} == {"sent"}
        assert not uow.outbox.by_status("pending")
    rt.engine.dispose()


@pytest.mark.asyncio
async def test_missing_channel_parks_with_a_log_line_and_tells_the_actor(sqlite_url, clock, caplog):
    rt = make_runtime(sqlite_url, clock)
    rt.console.known_chats = {"after-sales", "tech"}  # the bot was never invited to #warehouse
    run(rt, "xiaomei", "Blue screen category:hardware")
    with caplog.at_level(logging.ERROR, logger="afterdesk.outbox"):
        await rt.dispatcher.drain()
    assert "parked: warehouse could not be reached on console: channel_not_found" in caplog.text
    assert rt.console.dm_texts("xiaomei") == [
        "I could not post #1001 in warehouse: channel_not_found. Invite me to that chat (e.g. /invite @Afterdesk), "
        "then change the ticket again to post its card."]
    with rt.desk.uow() as uow:
        assert [r.kind for r in uow.outbox.by_status("parked")] == ["card"]
    rt.engine.dispose()


@pytest.mark.asyncio
async def test_long_rate_limit_is_rescheduled_and_delivered_when_due(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    sender = ScriptedSender([RetryLater(120)])
    rt.dispatcher.senders["console"] = sender
    run(rt, "xiaomei", "Case one")
    await rt.dispatcher.drain()
    assert sender.sent == []
    clock.advance(seconds=121)
    await rt.dispatcher.drain()
    assert [d.kind for d in sender.sent] == ["card"]
    rt.engine.dispose()


CRASH = """
import os, sys
from datetime import datetime, timezone
from handlers.clock import FakeClock
from handlers.commands import Actor
from handlers.grammar import parse
from tests.support import make_runtime
rt = make_runtime(sys.argv[1], FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)))
reply = rt.execute(parse("Blue screen category:hardware", Actor("console", "xiaomei")))
assert reply.ok
os.kill(os.getpid(), 9)  # dies after commit, before the dispatcher ran
"""


@pytest.mark.asyncio
async def test_killed_after_commit_delivers_exactly_once_after_restart(sqlite_url, clock):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH), sqlite_url], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    rt = make_runtime(sqlite_url, clock)
    await rt.dispatcher.drain()
    await rt.dispatcher.drain()
    assert len(rt.console.chats["warehouse"]) == 1
    assert rt.console.chats["warehouse"][0].text.startswith("🔧 #1001 Blue screen")
    assert rt.console.dm_texts("lao_wang") == ["Xiaomei assigned you #1001: Blue screen"]
    rt.engine.dispose()
    # A third process start finds nothing left to send.
    rt2 = make_runtime(sqlite_url, clock)
    await rt2.dispatcher.drain()
    assert rt2.console.chats == {}
    rt2.engine.dispose()


@pytest.mark.asyncio
async def test_rows_claimed_by_a_dead_process_are_delivered_after_the_lease(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    run(rt, "xiaomei", "Case one")
    claimed = rt.outbox.claim_due(set())  # a process took the rows, then died
    assert claimed
    await rt.dispatcher.drain()
    assert rt.console.chats == {}
    clock.advance(minutes=3)
    await rt.dispatcher.drain()
    assert len(rt.console.chats["after-sales"]) == 1
    rt.engine.dispose()


@pytest.mark.asyncio
async def test_changes_before_the_first_card_is_posted_still_thread_under_it(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    run(rt, "xiaomei", "Blue screen category:hardware")
    run(rt, "lao_wang", "status 1001 waiting photos please")
    run(rt, "lao_wang", "priority 1001 high")
    await rt.dispatcher.drain()
    (card,) = rt.console.chats["warehouse"]
    assert card.text.startswith("⏳ #1001") and "high" in card.text.splitlines()[0]
    assert len(card.replies) == 2
    rt.engine.dispose()


def test_a_dispatcher_that_outlived_its_lease_does_not_send_the_row_again(sqlite_url, clock):
    from bot.outbox import OutboxStore

    rt = make_runtime(sqlite_url, clock)
    for i in range(3):
        run(rt, "xiaomei", f"Case {i}")
    slow = OutboxStore(rt.desk)  # process A: claims, then stalls (pacing, long 429 waits…)
    fast = OutboxStore(rt.desk)  # process B
    a_rows = [i for ids in slow.claim_due(set()).values() for i in ids]
    assert fast.claim_due(set()) == {}  # A's lease holds
    clock.advance(minutes=3)
    b_rows = [i for ids in fast.claim_due(set()).values() for i in ids]
    assert b_rows == a_rows
    assert [slow.prepare(i) for i in a_rows] == [None] * len(a_rows)  # no longer A's to send
    assert all(fast.prepare(i) for i in b_rows[:1])
    rt.engine.dispose()


def test_a_busy_chat_is_claimed_a_bounded_batch_at_a_time(sqlite_url, clock):
    from bot.outbox import OutboxStore

    rt = make_runtime(sqlite_url, clock)
    run(rt, "xiaomei", "Case one")
    for i in range(30):
        run(rt, "xiaomei", f"comment 1001 note {i}")
    store = OutboxStore(rt.desk, per_destination=20)
    assert [len(ids) for ids in store.claim_due(set()).values()] == [20]
    rt.engine.dispose()
