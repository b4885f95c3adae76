"""Telegram end-to-end fixtures: the real bootstrap and python-telegram-bot against the fake Bot API."""
from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.bootstrap import Runtime, build, open_database
from bot.config import load_config
from bot.render_plain import STATUS_ICON
from bot.telegram.adapter import TelegramAdapter
from handlers.clock import FakeClock
from handlers.views import TicketView
from store.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.support import desk_overrides, merge

SERVICE, WAREHOUSE, TECH = -100100, -100200, -100300
USERS = {"xiaomei": (1001, "Xiaomei", "xiaomei_cs"), "lao_wang": (1002, "Lao Wang", "laowang_wh"),
         "a_jie": (1003, "A-Jie", "ajie_tech"), "boss": (1004, "Manager Chen", "chen_mgr")}
# The fake's limits run 100x faster; the adapter is told so (retry_after and pacing windows scale).
TIME_SCALE = 0.01
# Someone who only ever writes "ping" to the bot privately: its answer tells that the bot is done with
# every update before it (python-telegram-bot handles updates one at a time, in order).
PROBE = 4242


def uid(who: str) -> int:
    return USERS[who][0]


@contextmanager
def core_held(runtime: Runtime) -> Iterator[threading.Event]:
    """The core's commands wait until the block ends; the event tells that one has reached the core (kept)."""
    entered, release = threading.Event(), threading.Event()
    run_batch = runtime.core.run_batch

    def held(desk, items):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(10)
        return run_batch(desk, items)

    runtime.core.run_batch = held
    try:
        yield entered
    finally:
        release.set()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """Three ordinary supergroups (bot a member, privacy mode on) and the shop's four people."""
    with FakeTelegram() as f:
        for chat, title in ((SERVICE, "After-sales"), (WAREHOUSE, "Warehouse"), (TECH, "Technicians")):
            f.add_chat(chat, "supergroup", title)
        for user_id, name, username in USERS.values():
            f.add_user(user_id, name, username)
        yield f


class TelegramDesk:
    """The runtime with Telegram on, driven the way the group's members use it."""

    def __init__(self, fake: FakeTelegram, db_url: str, clock: FakeClock, time_scale: float = TIME_SCALE,
                 **sections: Any) -> None:
        self.fake, self.db_url, self.clock, self.time_scale = fake, db_url, clock, time_scale
        self.sections = sections
        self.runtime: Runtime | None = None

    def build(self) -> Runtime:
        telegram = {"enabled": True, "bot_token": self.fake.token, "base_url": self.fake.base_url,
                    "base_file_url": self.fake.base_file_url}
        extra = merge({"telegram": telegram, "console": {"enabled": False}}, self.sections)
        config = load_config(env={}, overrides=merge(desk_overrides(self.db_url), extra))
        factory = partial(TelegramAdapter, time_scale=self.time_scale, poll_timeout=1)
        return build(config, clock=self.clock, adapter_factories={"telegram": factory})

    def prepare(self) -> Runtime:
        """Build the runtime without starting it (commands run now are delivered in one burst at start)."""
        self.runtime = self.build()
        return self.runtime

    async def start(self) -> TelegramDesk:
        if self.runtime is None:
            self.prepare()
        await self.rt.start()
        return self

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None

    @property
    def rt(self) -> Runtime:
        assert self.runtime is not None
        return self.runtime

    @property
    def adapter(self) -> TelegramAdapter:
        return next(a for a in self.rt.adapters if isinstance(a, TelegramAdapter))

    async def settle(self, timeout: float = 10.0) -> None:
        """Deliver every notification that is due.

        drain() alone can return early while the runtime's own dispatcher loop runs beside it (two
        rounds may both start a worker for one destination, and drain only joins the one it kept), so
        also wait until no due row is left pending.
        """
        await self.rt.dispatcher.drain()
        await self.fake.async_wait_for(self._nothing_due, timeout=timeout, message="outbox settled")
        await self.rt.dispatcher.drain()

    async def _nothing_due(self) -> bool:
        now = self.clock.now()
        if any(r.next_attempt_at <= now for r in self.outbox("pending")):
            await self.rt.dispatcher.drain()
            return False
        return True

    async def processed(self, update: dict[str, Any]) -> None:
        """Wait until the bot has handled `update` (polling): a later ping is answered only after it.
        (A fault scripted for every sendMessage can hit that answer: give such faults a chat_id.)"""
        await self.answered(self.fake.user_sends(PROBE, PROBE, "ping"), f"update {update['update_id']} processed")

    async def answered(self, ping: dict[str, Any], what: str = "") -> None:
        """Wait for the bot's answer to a ping from the probe (an update it handles after the ones before)."""
        message_id = ping["message"]["message_id"]
        await self.fake.async_wait_for(lambda: any(m["reply_to_message_id"] == message_id
                                                   for m in self.fake.bot_messages(PROBE)),
                                       message=what or f"ping {message_id} answered")

    async def send(self, chat: int, who: str, text: str | None = None, **kw: Any) -> dict[str, Any]:
        """`who` posts in `chat`; returns the update once the bot has handled it."""
        update = self.fake.user_sends(chat, uid(who), text, **kw)
        if update in self.fake.dropped_updates:
            raise AssertionError("Telegram would not deliver this message to the bot (privacy mode)")
        await self.processed(update)
        return update

    async def press(self, chat: int, message_id: int, who: str, data: str) -> dict[str, Any]:
        update = self.fake.user_presses(chat, message_id, uid(who), data)
        await self.processed(update)
        return update

    async def edit(self, chat: int, message_id: int, text: str) -> dict[str, Any]:
        update = self.fake.user_edits(chat, message_id, text)
        await self.processed(update)
        return update

    def card(self, chat: int, number: int, thread: int | None = None) -> dict[str, Any]:
        """The ticket's card as the group sees it now."""
        cards = [m for m in self.fake.bot_messages(chat, thread)
                 if m["plain_text"] and m["plain_text"].startswith(tuple(STATUS_ICON.values()))
                 and f"#{number} " in m["plain_text"]]
        assert len(cards) == 1, f"expected one card of #{number} in {chat}, found {len(cards)}\n{self.fake.summary()}"
        return cards[0]

    def bot_texts(self, chat: int, thread: int | None = None) -> list[str]:
        return [m["plain_text"] or m["plain_caption"] or "" for m in self.fake.bot_messages(chat, thread)]

    def last_text(self, chat: int) -> str:
        """The bot's latest message in a chat (settle first if notifications may still land there)."""
        return self.bot_texts(chat)[-1]

    def answer_to(self, chat: int, message_id: int) -> str:
        """The bot's (latest) answer to a message: what it replied to that message, whatever the outbox sent."""
        answers = [m["plain_text"] or "" for m in self.fake.bot_messages(chat) if m["reply_to_message_id"] == message_id]
        assert answers, f"no answer to message {message_id} in {chat}\n{self.fake.summary()}"
        return answers[-1]

    def ticket(self, number: int) -> TicketView:
        with self.rt.desk.uow() as uow:
            t = uow.tickets.by_number(number)
            assert t is not None, f"no ticket #{number}"
            return self.rt.desk.view(t, uow, detail=True)

    def ticket_count(self) -> int:
        with self.rt.desk.uow() as uow:
            return uow.tickets.count()

    def outbox(self, status: str) -> list[OutboxMessage]:
        with self.rt.desk.uow() as uow:
            return list(uow.outbox.by_status(status))


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """One SQLite file at the latest schema, copied per test (migrating each time costs ~0.3 s)."""
    path = tmp_path_factory.mktemp("template") / "afterdesk.db"
    open_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def db_file(tmp_path, migrated_db) -> str:
    shutil.copyfile(migrated_db, tmp_path / "afterdesk.db")
    return f"sqlite:///{tmp_path / 'afterdesk.db'}"


@pytest_asyncio.fixture
async def tg(fake: FakeTelegram, db_file: str, clock: FakeClock) -> AsyncIterator[TelegramDesk]:
    desk = TelegramDesk(fake, db_file, clock)
    await desk.start()
    try:
        yield desk
    finally:
        await desk.stop()
