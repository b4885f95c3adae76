"""Slack gets its answer within 3 s whatever the load: the work runs after the acknowledgement."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.slack.driver import SlackDriver


def lock_database(runtime_db: Path) -> sqlite3.Connection:
    """Hold SQLite's write lock, as a long transaction of another process would."""
    conn = sqlite3.connect(runtime_db, timeout=0, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


@pytest.mark.asyncio
async def test_commands_and_events_are_acknowledged_while_the_database_is_busy(slack: SlackDriver,
                                                                               tmp_path: Path) -> None:
    await slack.slash("UXIAOMEI", "Fan is loud category:hardware")
    await slack.deliver()
    card = slack.cards("CWAREHOUSE")[0]["ts"]
    lock = lock_database(tmp_path / "t.db")
    try:
        started = time.monotonic()
        command = await slack.slash("ULAOWANG", "status 1001 waiting", settle=False)
        reply = await slack.event(slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "Parts ordered"),
                                  settle=False)
        assert time.monotonic() - started < 1.0
        assert (command.status, command.body, reply.status) == (200, "", 200)
        assert slack.adapter.inflight.count == 2  # both still waiting for the database
        assert slack.fake.responses(command.response_url) == []
    finally:
        lock.rollback()
        lock.close()
    await slack.settle()
    assert slack.fake.responses(command.response_url)[0]["text"] == "#1001 is now waiting."
    t = slack.ticket(1001)
    assert t.status == "waiting" and [c.body for c in t.comments] == ["Parts ordered"]
