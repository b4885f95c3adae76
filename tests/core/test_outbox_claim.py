"""Claiming outbox rows: the head of each idle destination's queue, leased in one statement; several
dispatchers on one database share the work without sending anything twice or out of order; commits
that wake the dispatcher in a storm cost one claim round, not one each."""
from __future__ import annotations

import asyncio
import logging
import pytest
from sqlalchemy import event

from bot.delivery import Delivered, Delivery
from bot.outbox import OutboxStore
from handlers.commands import Actor
from handlers.grammar import parse
from store.models import OutboxMessage
from tests.support import make_runtime


def post(rt, destination: str, n: int) -> list[int]:
    """`n` plain posts queued for one console chat; their ids."""
    now = rt.desk.clock.now()
    with rt.desk.uow() as uow:
        rows = [OutboxMessage(created_at=now, next_attempt_at=now, kind="post", platform="console",
                              destination=f"console:{destination}", status="pending", attempts=0, last_error="",
                              payload={"chat_id": destination, "text": {"key": "commented", "params": {"i": i}}})
                for i in range(n)]
        for row in rows:
            uow.outbox.add(row)
        uow.commit()
        return [row.id for row in rows]


def by_destination(claimed: dict[str, list[int]]) -> dict[str, list[int]]:
    return {d.split(":", 1)[1]: ids for d, ids in claimed.items()}


def test_one_update_leases_the_head_of_every_idle_queue(db_url, clock):
    rt = make_runtime(db_url, clock)
    a, b, c = post(rt, "a", 5), post(rt, "b", 2), post(rt, "c", 3)
    store = OutboxStore(rt.desk, per_destination=3)
    statements: list[str] = []
    event.listen(rt.engine, "before_cursor_execute", lambda *args: statements.append(args[2].lstrip().upper()))
    claimed = store.claim_due({"console:c"})  # a worker is still sending to c
    assert by_destination(claimed) == {"a": a[:3], "b": b}
    on_outbox = [s.split()[0] for s in statements if "OUTBOX" in s]
    assert on_outbox.count("UPDATE") == 1 and len(on_outbox) <= 2  # (SQLite: the heads found first, see below)
    rt.engine.dispose()


def test_on_sqlite_the_queues_are_read_beside_the_writers_and_the_write_lock_taken_only_to_lease(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    a = post(rt, "a", 2)
    store = OutboxStore(rt.desk)
    statements: list[str] = []
    event.listen(rt.engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0:2]))
    assert store.claim_due({"console:a"}) == {}  # every queue is being sent already: nothing to lease
    assert ["BEGIN", "IMMEDIATE"] not in statements and not any(s[0] == "UPDATE" for s in statements)
    assert by_destination(store.claim_due(set())) == {"a": a}
    assert ["BEGIN", "IMMEDIATE"] in statements
    rt.engine.dispose()


def test_a_row_that_cannot_go_yet_holds_back_the_rows_behind_it(db_url, clock):
    rt = make_runtime(db_url, clock)
    a, b = post(rt, "a", 4), post(rt, "b", 2)
    store = OutboxStore(rt.desk)
    store.reschedule(a[1], "rate limited", 60.0)  # the second of a's rows is due in a minute
    assert by_destination(store.claim_due(set())) == {"a": a[:1], "b": b}
    store.release(a[:1])
    clock.advance(seconds=61)
    assert by_destination(store.claim_due(set())) == {"a": a}
    rt.engine.dispose()


def test_every_queue_is_found_among_many_with_sent_rows_between_and_only_its_head_is_taken(db_url, clock):
    # The claim reads each queue from its head (one index seek per chat): chats whose first rows were
    # sent already, chats with one row, and long queues must all come out as if the backlog were read whole.
    rt = make_runtime(db_url, clock)
    queues = {f"d{i:02}": post(rt, f"d{i:02}", i % 7 + 1) for i in range(40)}
    with rt.desk.uow() as uow:
        for name in list(queues)[::3]:  # every third chat's first row went out already
            row = uow.session.get(OutboxMessage, queues[name].pop(0))
            row.status = "sent"
        uow.commit()
    claimed = by_destination(OutboxStore(rt.desk, per_destination=3).claim_due({"console:d05"}))
    assert claimed == {name: ids[:3] for name, ids in queues.items() if ids and name != "d05"}
    rt.engine.dispose()


def test_rows_leased_by_another_dispatcher_hold_back_its_queue_until_the_lease_ends(db_url, clock):
    rt = make_runtime(db_url, clock)
    a, b = post(rt, "a", 4), post(rt, "b", 2)
    other, ours = OutboxStore(rt.desk, per_destination=2), OutboxStore(rt.desk)
    assert by_destination(other.claim_due({"console:b"})) == {"a": a[:2]}
    assert by_destination(ours.claim_due(set())) == {"b": b}  # not a[2:]: they must follow a[:2]
    clock.advance(minutes=3)  # the other dispatcher died with its lease
    assert by_destination(ours.claim_due({"console:b"})) == {"a": a}
    rt.engine.dispose()


class Recorder:
    """One sender shared by two dispatchers (two processes' worth): what reached each chat, in order."""

    platform = "console"
    min_interval = 0.0

    def __init__(self) -> None:
        self.sent: dict[str, list[int]] = {}
        self.in_flight: set[str] = set()
        self.overlaps = 0

    async def deliver(self, item: Delivery) -> Delivered:
        chat = item.chat_id or item.user_id
        self.overlaps += chat in self.in_flight  # two dispatchers sending to one chat at once
        self.in_flight.add(chat)
        try:
            await asyncio.sleep(0.001)  # let the other dispatcher run meanwhile
        finally:
            self.in_flight.discard(chat)
        self.sent.setdefault(chat, []).append(item.row_id)
        return Delivered(message_id=f"m{item.row_id}", chat_id=chat)


def pending(rt) -> int:
    with rt.desk.uow() as uow:
        return len(uow.outbox.by_status("pending"))


@pytest.mark.asyncio
async def test_two_dispatchers_on_one_database_send_every_row_once_and_in_order(db_url, clock):
    first, second = make_runtime(db_url, clock), make_runtime(db_url, clock)
    for i in range(6):
        who = Actor("console", "xiaomei")
        first.execute(parse(f"Case {i}" + (" category:hardware" if i % 2 else ""), who))
    for i in range(24):
        first.execute(parse(f"comment {1001 + i % 6} note {i}", Actor("console", "lao_wang")))
    recorder = Recorder()
    for rt in (first, second):
        rt.outbox.per_destination = 3  # small batches: the queues change hands often
        rt.dispatcher.senders["console"] = recorder
    runs = [asyncio.create_task(rt.dispatcher.run()) for rt in (first, second)]
    try:
        for _ in range(2000):
            if not await asyncio.to_thread(pending, first):
                break
            await asyncio.sleep(0.01)
    finally:
        for rt in (first, second):
            await rt.dispatcher.stop()
        await asyncio.gather(*runs)
    with first.desk.uow() as uow:
        sent = uow.outbox.by_status("sent")
        expected: dict[str, list[int]] = {}
        for row in sent:
            expected.setdefault(row.result_chat_id, []).append(row.id)
        assert not uow.outbox.by_status("pending")
    assert len(sent) >= 30
    assert recorder.sent == expected  # each row once, each chat's rows in the order they were written
    assert recorder.overlaps == 0
    for rt in (first, second):
        rt.engine.dispose()


@pytest.mark.asyncio
async def test_a_storm_of_commits_costs_one_claim_round_per_gap(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    dispatcher = rt.dispatcher
    dispatcher.round_gap = 3600.0  # so that this test cannot depend on how fast the machine is
    rounds = []
    claim = rt.outbox.claim_due
    rt.outbox.claim_due = lambda busy, *a: rounds.append(busy) or claim(busy, *a)
    run = asyncio.create_task(dispatcher.run())
    while not rounds:
        await asyncio.sleep(0)
    for i in range(20):
        rt.execute(parse(f"Case {i}", Actor("console", "xiaomei")))  # each commit wakes the dispatcher
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert len(rounds) == 1
    await dispatcher.stop()  # and a stop does not wait out the gap
    await run
    rt.engine.dispose()


@pytest.mark.asyncio
async def test_rows_woken_during_the_gap_go_out_in_the_next_round(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    run = asyncio.create_task(rt.dispatcher.run())
    for i in range(5):
        rt.execute(parse(f"Case {i}", Actor("console", "xiaomei")))
        await asyncio.sleep(0)
    for _ in range(1000):
        if len(rt.console.chats.get("after-sales", [])) == 5:
            break
        await asyncio.sleep(0.01)
    await rt.dispatcher.stop()
    await run
    assert [m.text.split(" — ")[0].split(" ", 1)[1] for m in rt.console.chats["after-sales"]] == [
        f"#{1001 + i} Case {i}" for i in range(5)]
    rt.engine.dispose()


def test_a_lease_renewed_before_sending_keeps_the_row_from_other_dispatchers(db_url, clock):
    rt = make_runtime(db_url, clock)
    (row,) = post(rt, "a", 1)
    ours, other = OutboxStore(rt.desk), OutboxStore(rt.desk)
    assert by_destination(ours.claim_due(set())) == {"a": [row]}
    clock.advance(seconds=100)
    assert ours.prepare(row)  # renews the lease for another two minutes from now
    clock.advance(seconds=100)
    assert other.claim_due(set()) == {}
    assert other.prepare(row) is None
    rt.engine.dispose()



def test_a_delivery_that_outlived_its_lease_is_recorded_as_sent_with_a_warning(db_url, clock, caplog):
    rt = make_runtime(db_url, clock)
    (row,) = post(rt, "a", 1)
    ours, other = OutboxStore(rt.desk), OutboxStore(rt.desk)
    ours.claim_due(set())
    item = ours.prepare(row)
    clock.advance(minutes=3)  # our send hung past the lease; another dispatcher took the row
    assert by_destination(other.claim_due(set())) == {"a": [row]}
    with caplog.at_level(logging.WARNING, logger="afterdesk.outbox"):
        ours.finish(row, item, Delivered(message_id="m1", chat_id="a"))
    assert f"outbox {row}: delivered after our lease passed to another dispatcher" in caplog.text
    assert other.prepare(row) is None  # so the other one does not send it again
    with rt.desk.uow() as uow:
        (sent,) = uow.outbox.by_status("sent")
        assert (sent.id, sent.result_message_id, sent.attempts, sent.lease_owner) == (row, "m1", 1, None)
    rt.engine.dispose()
