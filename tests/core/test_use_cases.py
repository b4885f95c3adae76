"""Use cases through the command bus: end state and the outbox, one test per rule."""
from __future__ import annotations


import pytest

from handlers.commands import Actor, CreateTicket, FileRef
from handlers.texts import render


def msg(reply) -> str:
    return " ".join(render(t.key, t.params) for t in reply.texts)


def rows(desk, kind=None):
    return [(r.kind, r.destination, (r.payload.get("text") or {}).get("key"))
            for r in desk.outbox() if kind is None or r.kind == kind]


CREATE = ('PC blue-screens order:TB-8841 customer:"Zhang Wei" handle:zw_gamer '
          'address:"88 Century Ave" category:hardware product:"gaming PC"')


def test_create_numbers_routes_assigns_and_notifies_in_one_go(desk):
    reply = desk.run("xiaomei", CREATE)
    assert reply.ok and msg(reply) == (
        "Created #1001: PC blue-screens (group: Warehouse, assigned to Lao Wang).")
    ticket, view = desk.ticket(1001)
    assert (ticket.status, ticket.group_key, view.assignee.key) == ("open", "warehouse", "lao_wang")
    assert (ticket.order_no, ticket.customer_name, ticket.customer_handle) == ("TB-8841", "Zhang Wei", "zw_gamer")
    routed = [e for e in view.events if e.action == "routed"][0]
    assert routed.new == "warehouse" and "category 'hardware'" in routed.detail
    # The card goes to the routed group's channel; the new assignee gets a DM.
    assert rows(desk) == [("card", "console:warehouse", None), ("dm", f"console:dm:{ticket.assignee_id}", "dm_assigned")]
    assert desk.run("xiaomei", "Second case").ticket.number == 1002


def test_a_new_ticket_is_whole_at_once_with_tags_defaults_photos_and_changes_in_the_next_command(desk):
    # Tags only: the ticket goes in as one INSERT; with photos, the ORM writes the children too.
    plain = desk.run("xiaomei", "Fan rattles tag:noise tag:rebound tag:noise")
    photo = desk.runtime.execute(CreateTicket(
        Actor("console", "xiaomei", display_name="xiaomei"), title="Cracked case", tags=("shipping",),
        attachments=(FileRef("console", "F1", "crack.jpg", "image/jpeg"),)))
    assert plain.ok and photo.ok and plain.ticket.tags == ("noise", "rebound")
    ticket, view = desk.ticket(plain.ticket.number)
    assert (view.tags, ticket.description, ticket.order_no, ticket.priority) == (("noise", "rebound"), "", "", "normal")
    assert (ticket.reporter.key, ticket.compensation, ticket.resolved_at) == ("xiaomei", None, None)
    _, photo_view = desk.ticket(photo.ticket.number)
    assert photo_view.tags == ("shipping",) and [a.name for a in photo_view.attachments] == ["crack.jpg"]
    # The row is a real ticket for the next command: it can be assigned, and its history reads in order.
    assert desk.run("xiaomei", f"assign {plain.ticket.number} @lao_wang").ok
    ticket, view = desk.ticket(plain.ticket.number)
    assert ticket.assignee.key == "lao_wang" and view.tags == ("noise", "rebound")
    assert [e.action for e in view.events][:2] == ["created", "routed"]


@pytest.mark.parametrize("text, group, reason", [
    ("RAM stick dead product:memory", "tech", "product 'memory'"),
    ("Where is my courier parcel?", "service", "keyword 'courier'"),
    ("Wrong colour delivered", "service", "no routing rule matched"),
    ("Anything group:tech", "tech", "chosen by"),
])
def test_routing_rules_and_reason_in_audit(desk, text, group, reason):
    reply = desk.run("xiaomei", text.replace("group:", "group:"))
    ticket, view = desk.ticket(reply.ticket.number)
    assert ticket.group_key == group
    routed = [e for e in view.events if e.action == "routed"][0]
    assert reason in routed.detail


def test_unknown_category_group_person_are_refused_and_nothing_is_written(desk):
    assert msg(desk.run("xiaomei", "X category:fruit")) == (
        "Unknown category 'fruit' — use one of: hardware, software, shipping, refund.")
    assert msg(desk.run("xiaomei", "X group:couriers")).startswith("Unknown group 'couriers' — use one of: service")
    assert msg(desk.run("xiaomei", "X @nobody")).startswith("I don't know @nobody.")
    assert msg(desk.run("xiaomei", "show 4242")) == "There is no ticket #4242."
    assert desk.outbox() == []
    with desk.runtime.desk.uow() as uow:
        assert uow.tickets.count() == 0


def test_lifecycle_transitions_and_illegal_ones_explained(desk):
    desk.run("xiaomei", "Parcel lost")  # new, unassigned (service has no lead)
    assert msg(desk.run("lao_wang", "status 1001 resolved")) == "#1001 is now resolved."
    assert msg(desk.run("lao_wang", "status 1001 waiting")) == (
        "#1001 is resolved; from resolved it can go to: open (reopen), closed.")
    assert msg(desk.run("lao_wang", "status 1001 resolved")) == "#1001 is already resolved."
    assert msg(desk.run("lao_wang", "status 1001 closed")) == "#1001 is now closed."
    assert msg(desk.run("lao_wang", "status 1001 waiting")) == "#1001 is closed; from closed it can go to: open (reopen)."
    ticket, _ = desk.ticket(1001)
    assert ticket.status == "closed" and ticket.closed_at is not None and ticket.resolved_at is not None


def test_reopen_is_a_rebound_kept_and_flagged(desk, clock):
    desk.run("xiaomei", "Blue screen again? category:hardware")
    desk.run("lao_wang", "status 1001 resolved Swapped RAM")
    clock.advance(days=3)
    reply = desk.run("xiaomei", "status 1001 reopen Customer says it blue-screens again")
    assert msg(reply) == "#1001 is reopened — rebound #1."
    ticket, view = desk.ticket(1001)
    assert (ticket.status, ticket.reopen_count, view.rebound) == ("open", 1, True)
    assert ticket.resolved_at is None
    assert [e.action for e in view.events][-1] == "reopened"
    assert "REBOUND ×1" in __import__("bot.render_plain", fromlist=["card"]).card(view)
    desk.run("lao_wang", "status 1001 closed")
    desk.run("xiaomei", "status 1001 open")
    assert desk.ticket(1001)[0].reopen_count == 2


def test_first_response_is_the_first_act_of_someone_other_than_the_reporter(desk, clock):
    desk.run("xiaomei", "Wrong item shipped")
    clock.advance(minutes=5)
    desk.run("xiaomei", "comment 1001 customer sent photos")  # reporter: not a response
    assert desk.ticket(1001)[0].first_response_at is None
    clock.advance(minutes=10)
    desk.run("lao_wang", "comment 1001 checking the shelf")
    first = clock.now()
    clock.advance(minutes=10)
    desk.run("a_jie", "status 1001 waiting")
    assert desk.ticket(1001)[0].first_response_at == first


def test_assign_claim_and_their_notifications(desk):
    desk.run("xiaomei", "Parcel lost")
    before = len(desk.outbox())
    assert msg(desk.run("xiaomei", "assign 1001 @lao_wang")) == "#1001 is now assigned to Lao Wang."
    assert msg(desk.run("xiaomei", "assign 1001 @laowang_wh")) == "#1001 is already assigned to Lao Wang."
    new = rows(desk)[before:]
    assert new == [("card", "console:after-sales", None), ("notice", "console:after-sales", "n_assigned"),
                   ("dm", new[2][1], "dm_assigned")]
    assert msg(desk.run("a_jie", "claim 1001")) == (
        "#1001 is already taken by Lao Wang. To take it over: /ticket assign 1001 @me")
    assert msg(desk.run("a_jie", "assign 1001 @me")) == "#1001 is now assigned to A-Jie."
    desk.run("xiaomei", "Second parcel lost")
    assert msg(desk.run("a_jie", "claim 1002")) == "You took #1002."
    ticket, view = desk.ticket(1001)
    assert view.assignee.key == "a_jie" and ticket.status == "open"
    assert [(e.old, e.new) for e in view.events if e.action == "assigned"] == [("", "Lao Wang"), ("Lao Wang", "A-Jie")]


def test_status_change_notifies_reporter_and_watchers_but_not_the_actor(desk):
    desk.run("xiaomei", "Parcel lost")
    desk.run("boss", "watch 1001")
    assert msg(desk.run("boss", "watch 1001")) == "You already watch #1001."
    desk.run("lao_wang", "watch 1001")
    start = len(desk.outbox())
    desk.run("lao_wang", "status 1001 waiting on courier")
    dms = [r for r in desk.outbox()[start:] if r.kind == "dm"]
    people = {r.person_id for r in dms}
    with desk.runtime.desk.uow() as uow:
        keys = {uow.people.get(p).key for p in people}
    assert keys == {"xiaomei", "boss"}
    assert msg(desk.run("boss", "unwatch 1001")) == "You no longer watch #1001."
    assert msg(desk.run("boss", "unwatch 1001")) == "You are not watching #1001."


def test_set_fields_validates_amounts_and_records_changes(desk):
    desk.run("xiaomei", "Melted chocolate")
    assert msg(desk.run("xiaomei", "set 1001 compensation:abc")) == "'abc' is not an amount — use e.g. compensation:25.50"
    reply = desk.run("xiaomei", "set 1001 compensation:¥25.5 tracking:SF1402")
    assert msg(reply) == "#1001 updated: compensation → 25.50; replacement tracking → SF1402."
    ticket, view = desk.ticket(1001)
    assert str(ticket.compensation) == "25.50" and view.compensation == "25.50"
    assert ("field", "compensation", "", "25.50") in [(e.action, e.field, e.old, e.new) for e in view.events]


def test_search_by_order_handle_text_and_mine(desk):
    desk.run("xiaomei", "Blue screen order:TB-1 handle:zw_gamer category:hardware")
    desk.run("xiaomei", "Late parcel order:TB-2 handle:mary88")
    assert [t.number for t in desk.run("boss", "search TB-2").tickets] == [1002]
    assert [t.number for t in desk.run("boss", "search zw_gamer").tickets] == [1001]
    assert [t.number for t in desk.run("boss", "search parcel").tickets] == [1002]
    assert msg(desk.run("boss", "search 100%_x")) == "No ticket matches '100%_x'."
    assert [t.number for t in desk.run("lao_wang", "mine").tickets] == [1001]
    assert msg(desk.run("a_jie", "mine")) == "You have no open tickets."


def test_thread_reply_becomes_comment_and_mirrors_to_other_threads(desk, runtime):
    import asyncio

    from handlers.commands import Actor, AddComment, ChatRef

    desk.run("xiaomei", "Blue screen category:hardware")
    asyncio.run(runtime.dispatcher.drain())
    card = runtime.console.chats["warehouse"][0]
    reply = runtime.execute(AddComment(Actor("console", "lao_wang"), body="Black or white heatsink?",
                                       source=ChatRef("console", "warehouse", card.id, "human-1")))
    assert reply.ok and not reply.ignored
    _, view = desk.ticket(1001)
    assert [c.body for c in view.comments] == ["Black or white heatsink?"]
    # A reply in a thread that is not a ticket's is not recorded.
    stray = runtime.execute(AddComment(Actor("console", "lao_wang"), body="lunch?",
                                       source=ChatRef("console", "warehouse", "m999", "human-2")))
    assert stray.ignored


def test_redelivered_command_changes_nothing(desk):
    first = desk.run("xiaomei", "Parcel lost", dedup_keys=("console:ev:1",))
    again = desk.run("xiaomei", "Parcel lost", dedup_keys=("console:ev:1",))
    assert first.ok and again.duplicate
    with desk.runtime.desk.uow() as uow:
        assert uow.tickets.count() == 1


def test_an_unexpected_failure_answers_politely_and_writes_nothing(desk, runtime):
    def broken_hook(ctx, ticket, kind):
        raise RuntimeError("disk on fire")

    runtime.desk.change_hooks.append(broken_hook)
    reply = desk.run("xiaomei", "Parcel lost")
    assert not reply.ok
    assert msg(reply) == "Something went wrong on our side and nothing was changed. Please try again in a minute."
    runtime.desk.change_hooks.remove(broken_hook)
    assert desk.outbox() == []
    with runtime.desk.uow() as uow:
        assert uow.tickets.count() == 0


def test_customer_side_comments_are_not_a_first_response(sqlite_url, clock):
    from tests.core.conftest import Desk
    from tests.support import make_runtime

    rt = make_runtime(sqlite_url, clock, sla={"customer_side": ["boss"], "targets": {"normal": {"first_response": "4h"}}})
    desk = Desk(rt)
    desk.run("xiaomei", "Parcel lost")
    desk.run("boss", "comment 1001 I am the customer's contact: still nothing")
    assert desk.ticket(1001)[0].first_response_at is None
    desk.run("lao_wang", "comment 1001 tracing it now")
    assert desk.ticket(1001)[0].first_response_at == clock.now()
    rt.engine.dispose()


def test_someone_who_used_the_bot_before_the_config_named_them_is_one_person(sqlite_url, clock):
    from handlers.commands import Actor
    from handlers.grammar import parse
    from tests.support import make_runtime

    before = make_runtime(sqlite_url, clock)
    newbie = Actor("slack", "UNEW", workspace="T1", display_name="newbie")
    before.execute(parse("Box arrived crushed", newbie))
    before.execute(parse("claim 1001", newbie))
    before.execute(parse("watch 1001", newbie))
    before.engine.dispose()

    after = make_runtime(sqlite_url, clock, people={"newbie": {"name": "Xiao Niu", "slack": "UNEW"}})
    mine = after.execute(parse("mine", newbie))
    assert [t.number for t in mine.tickets] == [1001]
    assert mine.tickets[0].assignee.key == "newbie" and mine.tickets[0].reporter.name == "Xiao Niu"
    with after.desk.uow() as uow:
        ticket = uow.tickets.by_number(1001)
        assert [w.person.key for w in ticket.watchers] == ["newbie"]
        assert uow.people.by_key("slack:UNEW").identities == []
    after.engine.dispose()


def test_strangers_on_telegram_cannot_read_or_change_tickets(desk):
    from handlers.commands import Actor, ChatRef
    from handlers.grammar import parse

    desk.run("xiaomei", 'Blue screen customer:"Zhang Wei" address:"88 Century Ave" category:hardware')
    stranger = Actor("telegram", "666", display_name="Stranger")
    for text in ("show 1001", "search Zhang", "status 1001 closed spam", "New ticket from nowhere"):
        reply = desk.runtime.execute(parse(text, stranger, source=ChatRef("telegram", "666")))
        assert not reply.ok and reply.ticket is None and not reply.tickets
        assert msg(reply).startswith("You are not on this desk yet") and "telegram id is 666" in msg(reply)
    ticket, view = desk.ticket(1001)
    assert ticket.status == "open"
    with desk.runtime.desk.uow() as uow:
        assert uow.people.by_key("telegram:666") is None  # nothing written, not even the person
    # People in the config, and anyone writing in a group's chat, may.
    known = desk.runtime.execute(parse("show 1001", Actor("telegram", "1002"), source=ChatRef("telegram", "1002")))
    in_group = desk.runtime.execute(parse("show 1001", stranger, source=ChatRef("telegram", "-100200")))
    assert known.ok and in_group.ok
