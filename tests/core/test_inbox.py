"""The inbox: what a platform was told "got it" about runs exactly once, even across a crash."""
from __future__ import annotations

import dataclasses
import json

import pytest

import handlers.bus  # noqa: F401  (registers every command, SLA ones included)
from handlers.command_codec import _command_classes, decode, encode
from handlers.commands import Actor, ChatRef, CreateTicket, FileRef, SetFields
from handlers.desk import execute
from handlers.grammar import parse
from tests.support import make_runtime

XIAOMEI = Actor("slack", "UXIAOMEI", "T0001", display_name="Xiaomei")


def kept(rt, cmd) -> int:
    """A request kept by a process that then died before running it."""
    with rt.desk.uow() as uow:
        inbox_id = uow.inbox.keep(encode(cmd), rt.desk.clock.now())
        uow.commit()
    return inbox_id


def left(rt) -> list[int]:
    with rt.desk.uow.read_only() as uow:
        return [i for i, _ in uow.inbox.left_until(rt.desk.clock.now())]


def titles(rt) -> list[str]:
    with rt.desk.uow() as uow:
        return [t.title for t in uow.tickets.search("")]


def test_every_command_survives_the_round_trip_through_json():
    full = CreateTicket(XIAOMEI, title="Blue screen", tags=("rma", "urgent"),
                        attachments=(FileRef("slack", "F1", "bsod.jpg", "image/jpeg"),),
                        source=ChatRef("slack", "CSERVICE", "1.1", "1.2"), dedup_keys=("slack:Ev1",),
                        known_users=(Actor("slack", "ULAOWANG", "T0001"),))
    fields = SetFields(XIAOMEI, number=1001, fields=(("order_no", "TB-8841"), ("product", "RTX 4070")))
    samples = [full, fields] + [cls(XIAOMEI) for cls in _command_classes().values()
                                if cls not in (CreateTicket, SetFields)]
    assert len(samples) >= 15
    for cmd in samples:
        assert decode(json.loads(json.dumps(encode(cmd)))) == cmd


def test_an_unknown_command_type_is_refused():
    with pytest.raises(ValueError, match="unknown command"):
        decode({"type": "DropTables", "fields": {}})


@pytest.mark.asyncio
async def test_a_request_kept_before_a_crash_runs_at_the_next_start(db_url, clock):
    before = make_runtime(db_url, clock)
    kept(before, parse("Fan rattles order:TB-1 category:hardware", XIAOMEI))
    before.engine.dispose()  # the process died here: acknowledged, never run

    after = make_runtime(db_url, clock)
    await after.start()
    try:
        await after._tasks[-1]  # the replay
        assert titles(after) == ["Fan rattles"]
        assert left(after) == []
    finally:
        await after.stop()


def test_a_kept_request_runs_once_however_often_it_is_run(db_url, clock):
    rt = make_runtime(db_url, clock)
    cmd = parse("Fan rattles category:hardware", XIAOMEI)
    inbox_id = kept(rt, cmd)
    first, again = execute(rt.desk, cmd, inbox_id), execute(rt.desk, cmd, inbox_id)
    assert first.ok and again.duplicate
    assert titles(rt) == ["Fan rattles"] and left(rt) == []
    rt.engine.dispose()


def test_a_refused_request_is_answered_once_and_not_kept(db_url, clock):
    rt = make_runtime(db_url, clock)
    cmd = dataclasses.replace(parse("Fan rattles category:hardware", XIAOMEI), title="")
    reply = execute(rt.desk, cmd, kept(rt, cmd))
    assert not reply.ok and "summary" in reply.texts[0].key
    assert titles(rt) == [] and left(rt) == []
    rt.engine.dispose()


@pytest.mark.asyncio
async def test_runtime_submit_keeps_then_runs(db_url, clock):
    rt = make_runtime(db_url, clock)
    await rt.start()
    try:
        reply = await rt.submit(parse("Monitor cracked category:hardware", XIAOMEI))
        assert reply.ok and titles(rt) == ["Monitor cracked"] and left(rt) == []
    finally:
        await rt.stop()
