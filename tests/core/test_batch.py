"""Commands run together in one transaction (a burst): each ends as it would have alone, in order."""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import handlers.bus  # noqa: F401  (registers every command, SLA ones included)
from handlers.commands import Actor, Command
from handlers.desk import HANDLERS, Ctx, execute_batch
from handlers.grammar import parse
from handlers.replies import Reply, UsageError
from store.models import AuditEvent, OutboxMessage
from tests.core.test_inbox import kept, left
from tests.support import make_runtime

XIAOMEI = Actor("slack", "UXIAOMEI", "T0001", display_name="Xiaomei")
LAOWANG = Actor("slack", "ULAOWANG", "T0001", display_name="Lao Wang")


@dataclass(frozen=True)
class Explode(Command):
    """A command whose use case fails unexpectedly (a bug, a lost connection)."""


def _explode(ctx: Ctx, cmd: Explode) -> Reply:
    ctx.uow.tickets.next_number()  # it had already written something when it failed
    raise RuntimeError("boom")


@dataclass(frozen=True)
class RefusedTheSecondTime(Command):
    """A command whose outcome changes between runs (on PostgreSQL another core thread may commit in between)."""


def refused_the_second_time() -> Callable[[Ctx, RefusedTheSecondTime], Reply]:
    runs: list[int] = []

    def handle(ctx: Ctx, cmd: RefusedTheSecondTime) -> Reply:
        runs.append(1)
        if len(runs) == 2:
            raise UsageError("err_no_summary")
        return Reply()

    return handle


@pytest.fixture
def rt(db_url, clock):
    runtime = make_runtime(db_url, clock)
    yield runtime
    runtime.engine.dispose()


def create(text: str, actor: Actor = XIAOMEI):
    return parse(f"{text} category:hardware", actor)


def run_all(desk, items) -> list[Reply]:
    """As the core does: a batch runs a first part of what is queued, the next batch goes on from there."""
    replies: list[Reply] = []
    while len(replies) < len(items):
        replies += execute_batch(desk, items[len(replies):])
    return replies


def batch(rt, *cmds: Command) -> list[Reply]:
    """Run the commands in batches, each kept in the inbox first as a platform request would be."""
    return run_all(rt.desk, [(cmd, kept(rt, cmd)) for cmd in cmds])


def titles(rt) -> list[str]:
    """Every ticket's title, by number."""
    with rt.desk.uow() as uow:
        return [t.title for t in sorted(uow.tickets.search(""), key=lambda t: t.number)]


def numbers(replies: list[Reply]) -> list[int | None]:
    return [r.ticket_number for r in replies]


def test_commands_run_together_see_each_other_and_leave_what_each_alone_would(rt):
    replies = batch(rt, create("Fan rattles"), create("Monitor cracked", LAOWANG), parse("status 1001 waiting",
                    LAOWANG), create("Parcel stuck"))
    assert [r.ok for r in replies] == [True] * 4
    assert numbers(replies) == [1001, 1002, 1001, 1003]
    assert replies[2].texts[0].key == "status_changed"
    assert titles(rt) == ["Fan rattles", "Monitor cracked", "Parcel stuck"] and left(rt) == []
    with rt.desk.uow() as uow:
        assert uow.tickets.by_number(1001).status == "waiting"
        created = uow.session.query(AuditEvent).filter_by(action="created").count()
        cards = uow.session.query(OutboxMessage).filter_by(kind="card").count()
    assert created == 3 and cards >= 3


def test_a_command_that_cannot_commit_leaves_the_others_whole_and_numbered_without_gaps(rt):
    no_title = dataclasses.replace(create("x"), title="")
    replies = batch(rt, create("Fan rattles"), no_title, create("Monitor cracked"), parse("status 9999 waiting",
                    XIAOMEI), create("Parcel stuck"))
    assert [r.ok for r in replies] == [True, False, True, False, True]
    assert numbers(replies) == [1001, None, 1002, None, 1003]
    assert replies[1].texts[0].key == "err_no_summary" and replies[3].texts[0].key == "err_no_ticket"
    assert titles(rt) == ["Fan rattles", "Monitor cracked", "Parcel stuck"]
    assert left(rt) == []  # the refused ones are answered once and not run again


def test_a_request_in_a_batch_twice_is_created_once(rt):
    cmd = create("Fan rattles")
    inbox_id = kept(rt, cmd)
    first, again = run_all(rt.desk, [(cmd, inbox_id), (cmd, inbox_id)])
    assert first.ok and again.duplicate
    assert titles(rt) == ["Fan rattles"] and left(rt) == []


def test_a_command_that_fails_is_answered_and_logged_once_and_the_rest_are_kept(rt, caplog, monkeypatch):
    monkeypatch.setitem(HANDLERS, Explode, _explode)
    items = [(create("Fan rattles"), None), (Explode(XIAOMEI), None), (create("Monitor cracked"), None)]
    with caplog.at_level(logging.ERROR, logger="handlers.desk"):
        upto_failed = execute_batch(rt.desk, items)  # the batch ends with the command that failed
        replies = upto_failed + run_all(rt.desk, items[len(upto_failed):])
    assert len(upto_failed) == 2
    assert [r.ok for r in replies] == [True, False, True]
    assert replies[1].texts[0].key == "err_internal"
    assert numbers(replies) == [1001, None, 1002]  # what it wrote before failing was rolled back
    assert titles(rt) == ["Fan rattles", "Monitor cracked"]
    assert [r.getMessage() for r in caplog.records] == ["command Explode failed"]


def test_a_batch_past_its_time_budget_stops_taking_commands_and_leaves_the_rest_kept(rt):
    cmds = [create("Fan rattles"), create("Monitor cracked"), create("Parcel stuck")]
    items = [(cmd, kept(rt, cmd)) for cmd in cmds]
    first = execute_batch(rt.desk, items, budget_s=0.0)  # the first command always runs
    assert numbers(first) == [1001]
    assert titles(rt) == ["Fan rattles"] and len(left(rt)) == 2  # the others wait, kept, for the next batch
    rest = execute_batch(rt.desk, items[1:])
    assert numbers(rest) == [1002, 1003] and left(rt) == []


@pytest.mark.asyncio
async def test_the_core_runs_what_a_short_batch_left_in_the_next_one(db_url, clock):
    runtime = make_runtime(db_url, clock)
    runtime.core.run_batch = functools.partial(execute_batch, budget_s=0.0)  # one command per batch
    await runtime.start()
    try:
        replies = await asyncio.gather(*(runtime.submit(create(f"Case {n}")) for n in range(10)))
    finally:
        await runtime.stop()
    assert sorted(numbers(replies)) == list(range(1001, 1011)) and left(runtime) == []


def test_replies_stay_with_their_commands_when_a_run_again_ends_early(rt, monkeypatch):
    monkeypatch.setitem(HANDLERS, RefusedTheSecondTime, refused_the_second_time())
    no_title = dataclasses.replace(create("x"), title="")
    items = [(RefusedTheSecondTime(XIAOMEI), None), (create("Fan rattles"), None), (no_title, None)]
    replies = run_all(rt.desk, items)
    assert [r.ok for r in replies] == [True, True, False]
    assert replies[1].ticket_number == 1001 and replies[2].texts[0].key == "err_no_summary"
    assert titles(rt) == ["Fan rattles"]


def test_show_in_a_batch_sees_the_history_the_batch_wrote(rt):
    replies = batch(rt, create("Fan rattles"), parse("status 1001 waiting Courier", LAOWANG),
                    parse("show 1001", LAOWANG))
    shown = [e.action for e in replies[2].ticket.events]
    alone = execute_batch(rt.desk, [(parse("show 1001", LAOWANG), None)])[0]
    assert shown == [e.action for e in alone.ticket.events] and {"created", "status"} <= set(shown)


@pytest.mark.asyncio
async def test_a_burst_through_the_runtime_is_created_once_each_in_arrival_order(db_url, clock):
    runtime = make_runtime(db_url, clock)
    await runtime.start()
    try:
        replies = await asyncio.gather(*(runtime.submit(create(f"Case {n}")) for n in range(40)))
    finally:
        await runtime.stop()
    assert all(r.ok for r in replies)
    assert sorted(numbers(replies)) == list(range(1001, 1041))
    by_number = {r.ticket_number: r.ticket.title for r in replies}
    assert sorted(by_number.values()) == sorted(f"Case {n}" for n in range(40))
    assert left(runtime) == []
