"""Slack gets its answer within 3 s whatever the load: the work runs after the acknowledgement."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.slack import adapter
from tests.slack.driver import SlackDriver


def lock_database(runtime_db: Path) -> sqlite3.Connection:
    """Hold SQLite's write lock, as a long transaction of another process would."""
    conn = sqlite3.connect(runtime_db, timeout=0, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


@pytest.mark.asyncio
async def test_commands_are_acknowledged_while_the_database_is_busy(slack: SlackDriver, tmp_path: Path) -> None:
    await slack.slash("UXIAOMEI", "Fan is loud category:hardware")
    lock = lock_database(tmp_path / "t.db")
    try:
        started = time.monotonic()
        command = await slack.slash("ULAOWANG", "status 1001 waiting", settle=False)
        assert time.monotonic() - started < 1.0
        assert (command.status, command.body) == (200, "")
        assert slack.adapter.inflight.count == 1  # still waiting for the database
        assert slack.fake.responses(command.response_url) == []
    finally:
        lock.rollback()
        lock.close()
    await slack.settle()
    assert slack.fake.responses(command.response_url)[0]["text"] == "#1001 is now waiting."
    assert slack.ticket(1001).status == "waiting"


async def card_of_a_new_ticket(slack: SlackDriver) -> str:
    await slack.slash("UXIAOMEI", "Fan is loud category:hardware")
    await slack.deliver()
    return slack.cards("CWAREHOUSE")[0]["ts"]


@pytest.mark.asyncio
async def test_a_thread_reply_is_kept_before_slack_hears_got_it(slack: SlackDriver, tmp_path: Path) -> None:
    # Slack sends an acknowledged event only once: acknowledged and then lost in a crash, the reply would be
    # gone. So while the database cannot keep it, Slack waits (within its 3 s).
    card = await card_of_a_new_ticket(slack)
    lock = lock_database(tmp_path / "t.db")
    try:
        event = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "Parts ordered")
        sending = asyncio.ensure_future(slack.event(event, settle=False))
        done, _ = await asyncio.wait({sending}, timeout=0.5)
        assert not done, "acknowledged before it was kept"
    finally:
        lock.rollback()
        lock.close()
    reply = await sending
    assert reply.status == 200
    await slack.settle()
    assert [c.body for c in slack.ticket(1001).comments] == ["Parts ordered"]


@pytest.mark.asyncio
async def test_an_event_the_database_cannot_keep_in_time_is_still_acknowledged_and_not_lost(
        slack: SlackDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "EVENT_KEEP_BUDGET", 0.3)  # ours, not Slack's: the test need not wait 2 s
    card = await card_of_a_new_ticket(slack)
    lock = lock_database(tmp_path / "t.db")
    try:
        started = time.monotonic()
        reply = await slack.event(slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "Parts ordered"),
                                  settle=False)
        assert (reply.status, reply.body) == (200, "")
        assert 0.3 <= time.monotonic() - started < 3.0  # waited for the keep, then answered before Slack gives up
        assert slack.adapter.inflight.count == 1
    finally:
        lock.rollback()
        lock.close()
    await slack.settle()
    assert [c.body for c in slack.ticket(1001).comments] == ["Parts ordered"]
