"""SLA test kit: a shop desk with SLA targets on SQLite, driven by typed commands and a fake clock."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from datetime import timedelta
from typing import Any

import pytest

from bot.bootstrap import Runtime, build
from bot.config import load_config
from bot.console import ConsoleChat, ConsoleMessage
from handlers.clock import FakeClock
from handlers.commands import Actor
from handlers.grammar import parse
from handlers.replies import Reply, UsageError
from handlers.texts import render
from scheduler.jobs import SweepReport, send_due_digests, sweep
from store.db import make_engine
from store.migrate import upgrade
from store.models import OutboxMessage, Ticket
from store.sla_models import SlaReminder
from tests.support import desk_overrides, merge

# 24/7 clocks, so the arithmetic in the tests is plain; business hours have their own tests.
SLA: dict[str, Any] = {
    "targets": {
        "urgent": {"first_response": "15m", "resolution": "4h"},
        "high": {"first_response": "30m", "resolution": "8h"},
        "normal": {"first_response": "1h", "resolution": "1d"},
        "low": {"first_response": "4h", "resolution": "3d"},
    },
    "overrides": [{"category": "refund", "resolution": "2h"}],
    "warn_at": 0.75,
    "reescalate_every": "2h",
    "unclaimed_after": "20m",
    "auto_close_after": "3d",
}
DESK = {"timezone": "Asia/Shanghai"}
# Two readers in another zone than the desk's, so the tests show each DM in its reader's zone.
READERS_IN_UTC = {"boss": {"timezone": "UTC"}, "a_jie": {"timezone": "UTC"}}
# Someone who speaks for the customer (sla.customer_side): a reply from them reopens a resolved ticket.
CUSTOMER = {"zhang": {"name": "Mr Zhang", "console": "zhang", "timezone": "Asia/Shanghai"}}


def sla_runtime(url: str, clock: FakeClock, sla: dict[str, Any] | None = None, chat: ConsoleChat | None = None,
                **sections: Any) -> Runtime:
    """A runtime from the real bootstrap with SLA targets; pass `chat` to keep the same chat across restarts."""
    extra = merge({"console": {"enabled": True}, "sla": SLA if sla is None else sla, "desk": DESK,
                   "people": READERS_IN_UTC}, sections)
    return build(load_config(env={}, overrides=merge(desk_overrides(url), extra)), clock=clock,
                 console=chat or ConsoleChat())


class Shop:
    """Drives the desk as chat users and the scheduler do; reads what the console chat shows."""

    def __init__(self, runtime: Runtime, clock: FakeClock) -> None:
        self.runtime, self.clock = runtime, clock

    def run(self, who: str, text: str) -> Reply:
        return self.runtime.execute(parse(text, Actor("console", who, display_name=who)))

    def say(self, who: str, text: str) -> str:
        """What the person reads back (a parse error included)."""
        try:
            reply = self.run(who, text)
        except UsageError as err:
            return render(err.text.key, err.text.params)
        return " ".join(render(t.key, t.params) for t in reply.texts)

    def sweep(self) -> SweepReport:
        return sweep(self.runtime.desk)

    def digests(self) -> list:
        return send_due_digests(self.runtime.desk)

    def at(self, **delta: float) -> SweepReport:
        """Move the clock forward and sweep."""
        self.clock.advance(timedelta(**delta))
        return self.sweep()

    async def settle(self) -> None:
        await self.runtime.dispatcher.drain()

    # --- what people see -------------------------------------------------------------------

    def posts(self, chat: str) -> list[str]:
        """Top-level messages of a channel that are not ticket cards (alerts, digests)."""
        return [m.text for m in self.runtime.console.chats.get(chat, []) if not _is_card(m)]

    def card(self, chat: str, number: int) -> ConsoleMessage:
        return next(m for m in self.runtime.console.chats[chat] if _is_card(m) and f"#{number} " in m.text)

    def thread(self, chat: str, number: int) -> list[str]:
        return [r.text for r in self.card(chat, number).replies]

    def dms(self, user: str) -> list[str]:
        return self.runtime.console.dm_texts(user)

    # --- what the database holds -------------------------------------------------------------

    def ticket(self, number: int) -> Ticket:
        with self.runtime.desk.uow() as uow:
            ticket = uow.tickets.by_number(number)
            assert ticket is not None
            return ticket

    def reminders(self, number: int | None = None) -> list[SlaReminder]:
        with self.runtime.desk.uow() as uow:
            q = uow.session.query(SlaReminder).order_by(SlaReminder.id)
            if number is not None:
                q = q.filter(SlaReminder.ticket_id == self.ticket(number).id)
            return list(q)

    def outbox(self) -> list[OutboxMessage]:
        with self.runtime.desk.uow() as uow:
            return list(uow.session.query(OutboxMessage).order_by(OutboxMessage.id))


_CARD = re.compile(r"\S+ #\d+ .* — (NEW|OPEN|WAITING|RESOLVED|CLOSED) · ")


def _is_card(m: ConsoleMessage) -> bool:
    return _CARD.match(m.text.splitlines()[0]) is not None


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file at the latest schema; each test gets a copy (migrating per test is the slow part)."""
    path = tmp_path_factory.mktemp("sla-template") / "afterdesk.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_db: Path) -> str:
    target = tmp_path / "afterdesk.db"
    shutil.copyfile(migrated_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def runtime(sqlite_url: str, clock: FakeClock) -> Iterator[Runtime]:
    rt = sla_runtime(sqlite_url, clock)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def shop(runtime: Runtime, clock: FakeClock) -> Shop:
    return Shop(runtime, clock)


@pytest.fixture
def any_shop(db_url: str, clock: FakeClock) -> Iterator[Shop]:
    """The shop on SQLite and (when AFTERDESK_TEST_DATABASE_URL is set) on PostgreSQL."""
    rt = sla_runtime(db_url, clock)
    yield Shop(rt, clock)
    rt.engine.dispose()
