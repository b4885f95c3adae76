from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.bootstrap import Runtime
from handlers.clock import FakeClock
from handlers.commands import Actor
from handlers.grammar import parse
from handlers.replies import Reply
from store.models import OutboxMessage
from tests.support import make_runtime


class Desk:
    """Drives the core like chat users do: typed commands in, replies and outbox rows out."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def run(self, who: str, text: str, **kw) -> Reply:
        return self.runtime.execute(parse(text, Actor("console", who, display_name=who), **kw))

    def outbox(self) -> list[OutboxMessage]:
        with self.runtime.desk.uow() as uow:
            return list(uow.session.query(OutboxMessage).order_by(OutboxMessage.id))

    def ticket(self, number: int):
        with self.runtime.desk.uow() as uow:
            t = uow.tickets.by_number(number)
            assert t is not None
            view = self.runtime.desk.view(t, uow, detail=True)
            return t, view


@pytest.fixture
def runtime(db_url: str, clock: FakeClock) -> Iterator[Runtime]:
    rt = make_runtime(db_url, clock)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return Desk(runtime)
