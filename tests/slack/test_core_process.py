"""The core in a process of its own (`[desk] core_process = true`): /ticket through the real endpoint, and what
happens to requests when that process dies."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.bootstrap import Runtime
from bot.core_process import CoreProcess
from bot.core_runner import CoreRunner
from handlers.clock import SystemClock
from handlers.command_codec import encode
from handlers.commands import Actor
from handlers.grammar import parse
from store.models import InboxItem, Ticket
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import slack_runtime, started
from tests.slack.driver import SlackDriver

pytestmark = pytest.mark.asyncio
XIAOMEI = Actor("slack", "UXIAOMEI", "T0001", display_name="Xiaomei")
CORE_PROCESS = {"core_process": True}


@pytest_asyncio.fixture
async def rt(tmp_path: Path, fake: FakeSlack, migrated_db: Path) -> AsyncIterator[Runtime]:
    runtime = await started(slack_runtime(tmp_path, SystemClock(), fake, migrated_db, desk=CORE_PROCESS))
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest_asyncio.fixture
async def driver(rt: Runtime, fake: FakeSlack) -> AsyncIterator[SlackDriver]:
    async with aiohttp.ClientSession() as session:
        yield SlackDriver(rt, fake, session)


def titles(rt: Runtime) -> list[str]:
    with rt.desk.uow.read_only() as uow:
        return list(uow.session.scalars(select(Ticket.title).order_by(Ticket.number)))


def inbox(rt: Runtime) -> list[int]:
    with rt.desk.uow.read_only() as uow:
        return list(uow.session.scalars(select(InboxItem.id)))


async def until(condition, what: str, timeout: float = 30.0) -> None:
    """Wait for another process to get somewhere (polling: it cannot tell us)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_by_default_commands_run_in_this_process(tmp_path: Path, fake: FakeSlack, migrated_db: Path):
    runtime = await started(slack_runtime(tmp_path, SystemClock(), fake, migrated_db))
    try:
        assert isinstance(runtime.core, CoreRunner)
    finally:
        await runtime.stop()


async def test_when_asked_commands_run_in_a_process_of_their_own(rt: Runtime, driver: SlackDriver):
    assert isinstance(rt.core, CoreProcess) and rt.core.pid not in (None, os.getpid())
    answer = await driver.slash("UXIAOMEI", "Gaming PC blue-screens order:TB-8841 category:hardware")
    assert answer.status == 200
    [response] = answer.responses
    assert response["response_type"] == "ephemeral"
    assert response["text"].startswith("Created #1001: Gaming PC blue-screens (group: Warehouse")
    await driver.deliver()  # the card, written by the core process, is sent by this one
    [card] = driver.cards("CWAREHOUSE")
    assert "#1001 Gaming PC blue-screens" in "\n".join(b.get("text", {}).get("text", "") for b in card["blocks"])
    assert titles(rt) == ["Gaming PC blue-screens"] and inbox(rt) == []


async def test_a_request_sent_to_a_core_process_that_dies_runs_once_in_the_next_one(rt: Runtime,
                                                                                    driver: SlackDriver):
    first = rt.core.pid
    os.kill(first, signal.SIGSTOP)  # frozen: the request reaches its pipe but is never kept
    asking = asyncio.create_task(driver.slash("UXIAOMEI", "Fan rattles category:hardware"))
    await until(lambda: rt.core._pending, "the request to be sent")
    os.kill(first, signal.SIGKILL)
    answer = await asyncio.wait_for(asking, 60)
    assert answer.status == 200
    [response] = answer.responses
    assert response["text"].startswith("Created #1001: Fan rattles")
    assert rt.core.pid != first
    assert titles(rt) == ["Fan rattles"] and inbox(rt) == []
    # The new process takes new requests as the old one did.
    await driver.slash("UXIAOMEI", "Second case category:hardware")
    assert titles(rt) == ["Fan rattles", "Second case"]


async def test_what_was_kept_before_a_stop_runs_when_the_core_process_starts(tmp_path: Path, fake: FakeSlack,
                                                                             migrated_db: Path, caplog):
    before = slack_runtime(tmp_path, SystemClock(), fake, migrated_db, desk=CORE_PROCESS)
    with before.desk.uow() as uow:
        uow.inbox.keep(encode(parse("Fan rattles order:TB-1 category:hardware", XIAOMEI)), SystemClock().now())
        uow.inbox.keep({"type": "DropTables", "fields": {}}, SystemClock().now())
        uow.commit()
    before.engine.dispose()  # the process died here: acknowledged, never run

    caplog.set_level(logging.INFO)
    after = await started(slack_runtime(tmp_path, SystemClock(), fake, migrated_db, desk=CORE_PROCESS))
    try:
        await until(lambda: titles(after) == ["Fan rattles"] and inbox(after) == [], "the replay")
        # The core process's log reaches this process's handlers.
        await until(lambda: any("cannot be read" in r.getMessage() for r in caplog.records), "its log")
    finally:
        await after.stop()


async def test_stopping_lets_the_core_process_finish_what_it_was_given(tmp_path: Path, fake: FakeSlack,
                                                                       migrated_db: Path):
    runtime = await started(slack_runtime(tmp_path, SystemClock(), fake, migrated_db, desk=CORE_PROCESS))
    results = [await runtime.core.accept(parse(f"Case {n} category:hardware", XIAOMEI)) for n in range(20)]
    proc = runtime.core._proc
    await runtime.stop()
    assert proc.poll() == 0
    assert all(r.ok for r in await asyncio.wait_for(asyncio.gather(*results), 10))
    assert len(titles(runtime)) == 20 and inbox(runtime) == []


async def test_a_frozen_core_process_does_not_freeze_the_web_process(rt: Runtime, driver: SlackDriver):
    # A core process that stops reading fills the pipe; the write that then blocks must not be the event
    # loop's, which acknowledges Slack (here within the keep budget, since nothing can be kept) and the rest.
    core = rt.core.pid
    os.kill(core, signal.SIGSTOP)
    thaw = threading.Timer(30, os.kill, (core, signal.SIGCONT))  # a frozen loop fails the test, not hangs it
    thaw.start()
    notes = "n" * 15_000  # 60 of these are more than a pipe holds
    try:
        started = time.monotonic()
        answers = await asyncio.gather(*(driver.slash("UXIAOMEI", f'Case {n} category:hardware desc:"{notes}"',
                                                      settle=False) for n in range(60)))
        waited = time.monotonic() - started
    finally:
        thaw.cancel()
        os.kill(core, signal.SIGCONT)
    assert [a.status for a in answers] == [200] * 60
    assert waited < 10, f"acknowledging waited {waited:.0f} s for the frozen core process"
    await driver.settle()
    assert sorted(titles(rt)) == sorted(f"Case {n}" for n in range(60)) and inbox(rt) == []
