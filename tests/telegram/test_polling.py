"""Long polling end to end: commands, cards with buttons, replies and edits as comments, redelivery."""
from __future__ import annotations

import logging

import pytest

from store.models import Person, ProcessedEvent
from tests.telegram.conftest import SERVICE, WAREHOUSE, TelegramDesk, core_held, uid

CREATE = ('/ticket New gaming PC blue-screens order:TB20261111-8841 customer:"Zhang Wei" '
          'category:hardware priority:high')


async def create(tg: TelegramDesk, text: str = CREATE) -> dict:
    await tg.send(SERVICE, "xiaomei", text)
    await tg.settle()
    return tg.card(WAREHOUSE, 1001)


@pytest.mark.asyncio
async def test_ticket_command_creates_and_the_card_appears_with_buttons(tg, fake):
    assert [c["command"] for c in fake.registered_commands] == ["ticket", "new", "show", "mine", "cancel", "help"]
    card = await create(tg)
    # the reporter is answered where she typed, as a reply to her command
    answer = fake.bot_messages(SERVICE)[-1]
    assert answer["plain_text"].startswith("Created #1001: New gaming PC blue-screens (group: Warehouse")
    assert answer["reply_to_message_id"] == fake.messages(SERVICE)[0]["message_id"]
    # the card is in the warehouse group, in HTML, with its keyboard
    assert card["parse_mode"] == "HTML"
    assert card["plain_text"].splitlines()[:3] == [
        "🔧 #1001 New gaming PC blue-screens — OPEN · 🟠 high", "Order: TB20261111-8841", "Customer: Zhang Wei"]
    assert "Assignee: Lao Wang · Reporter: Xiaomei" in card["plain_text"]
    assert {"type": "bold", "offset": 3, "length": len("#1001 New gaming PC blue-screens")}  # 🔧 is 2 UTF-16 units in card["entities"]
    buttons = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["c:1001", "s:1001:waiting", "s:1001:resolved", "s:1001:closed",
                       "p:1001:urgent", "p:1001:normal", "p:1001:low"]
    assert all(len(b.encode()) <= 64 for b in buttons)


@pytest.mark.asyncio
async def test_addressed_commands_aliases_and_specific_errors(tg, fake):
    await create(tg)
    await tg.send(WAREHOUSE, "lao_wang", "/ticket@AfterdeskBot show 1001")
    shown = tg.last_text(WAREHOUSE)
    assert shown.startswith("🔧 #1001 New gaming PC blue-screens") and "Audit trail:" in shown
    await tg.send(WAREHOUSE, "lao_wang", "/show 1001")
    assert tg.last_text(WAREHOUSE) == shown
    await tg.send(WAREHOUSE, "lao_wang", "/help")
    assert tg.last_text(WAREHOUSE).splitlines()[1].startswith("/ticket <summary> [order:… customer:…")
    await tg.send(WAREHOUSE, "lao_wang", "/mine")
    assert tg.last_text(WAREHOUSE).splitlines() == ["Your open tickets (1):",
                                                    "  #1001 [open] New gaming PC blue-screens — Lao Wang"]
    await tg.send(SERVICE, "xiaomei", "/new Courier lost the parcel order:TB-77")
    await tg.settle()  # (its card goes to this same group)
    assert any(t.startswith("Created #1002: Courier lost the parcel") for t in tg.bot_texts(SERVICE))
    # a command for another bot in the same group is not ours
    fake.add_chat(SERVICE, "supergroup", "After-sales", bot_admin=True)  # so the bot sees every message
    before = len(fake.bot_messages(SERVICE))
    await tg.send(SERVICE, "xiaomei", "/ticket@OtherBot show 1001")
    assert len(fake.bot_messages(SERVICE)) == before
    # bad input gets the grammar's specific sentence, as a reply
    await tg.send(SERVICE, "xiaomei", "/ticket status 1001 done")
    assert tg.last_text(SERVICE) == "Unknown status 'done' — use one of: open, waiting, resolved, closed."
    await tg.send(SERVICE, "xiaomei", "/ticket show 9999")
    assert tg.last_text(SERVICE) == "There is no ticket #9999."
    await tg.send(SERVICE, "xiaomei", "/ticket New PC ordr:123")
    assert tg.last_text(SERVICE).startswith("Unknown field 'ordr:' — did you mean 'order:'?")
    await tg.send(SERVICE, "xiaomei", "/show")
    assert tg.last_text(SERVICE) == "'/ticket show' needs a ticket number, e.g. /ticket show 1001."


@pytest.mark.asyncio
async def test_replies_to_the_card_are_comments_with_files_and_edits(tg, fake):
    card = await create(tg)
    question = await tg.send(WAREHOUSE, "lao_wang", "Black or white heatsink? & <i>which</i> slot",
                             reply_to=card["message_id"])
    await tg.send(WAREHOUSE, "xiaomei", "Photo from the customer", reply_to=card["message_id"], photo=True)
    await tg.send(WAREHOUSE, "xiaomei", None, reply_to=card["message_id"], document=("memtest.txt", b"FAIL 9GB"))
    view = tg.ticket(1001)
    assert [(c.author, c.body) for c in view.comments] == [
        ("Lao Wang", "Black or white heatsink? & <i>which</i> slot"), ("Xiaomei", "Photo from the customer"),
        ("Xiaomei", "")]
    photo = fake.messages(WAREHOUSE)[-2]["photo_sizes"]
    assert [(a.file_id, a.mime_type) for a in view.attachments] == [
        (photo[-1]["file_id"], "image/jpeg"), (fake.messages(WAREHOUSE)[-1]["document"], "text/plain")]
    assert view.attachments[1].name == "memtest.txt"
    # the comment is not echoed into the chat it came from (it is already there)
    await tg.settle()
    assert not any(t.startswith("Lao Wang on #1001") for t in tg.bot_texts(WAREHOUSE))
    # editing the message edits the comment
    await tg.edit(WAREHOUSE, question["message"]["message_id"], "Black or white heatsink?")
    view = tg.ticket(1001)
    assert view.comments[0].body == "Black or white heatsink?" and view.comments[0].edited
    # a reply to a notice of the ticket counts too; a plain message (not to the bot) is not delivered at all
    await tg.send(WAREHOUSE, "lao_wang", "/ticket priority 1001 urgent")
    await tg.settle()
    notice = [m for m in fake.replies_to(WAREHOUSE, card["message_id"]) if m["from"]["id"] == fake.bot_id][-1]
    assert notice["plain_text"] == "Lao Wang changed #1001 priority from high to urgent."
    assert notice["reply_to_message_id"] == card["message_id"]
    await tg.send(WAREHOUSE, "a_jie", "On it", reply_to=notice["message_id"])
    assert tg.ticket(1001).comments[-1].body == "On it"
    # a reply to a bot message that is no ticket's (an answer to /mine) stays silent
    mine = await tg.send(WAREHOUSE, "boss", "/mine")
    answer = next(m for m in fake.bot_messages(WAREHOUSE) if m["reply_to_message_id"] == mine["message"]["message_id"])
    before = len(fake.bot_messages(WAREHOUSE))
    await tg.send(WAREHOUSE, "boss", "thanks", reply_to=answer["message_id"])
    assert len(fake.bot_messages(WAREHOUSE)) == before
    assert tg.ticket(1001).comments[-1].body == "On it"


def trace(tg: TelegramDesk) -> tuple[int, int]:
    """What handling a message can leave behind: people registered, delivery keys remembered."""
    with tg.rt.desk.uow() as uow:
        return uow.session.query(Person).count(), uow.session.query(ProcessedEvent).count()


@pytest.mark.asyncio
async def test_group_chatter_leaves_no_trace_and_replies_to_the_card_stay_comments(fake, db_file, clock):
    # The bot is admin in both groups, so Telegram hands it every message; the warehouse is a forum.
    fake.add_chat(SERVICE, "supergroup", "After-sales", bot_admin=True)
    fake.add_chat(WAREHOUSE, "supergroup", "Warehouse", is_forum=True, bot_admin=True)
    fake.add_user(2001, "Courier Liu", "liu_courier")  # in no config: first contact would register him
    tg = await TelegramDesk(fake, db_file, clock).start()

    async def courier(chat: int, text: str, **kw) -> dict:
        update = fake.user_sends(chat, 2001, text, **kw)
        await tg.processed(update)
        return update["message"]

    async def edit(chat: int, message_id: int, text: str) -> None:
        await tg.processed(fake.user_edits(chat, message_id, text))

    try:
        await tg.send(SERVICE, "xiaomei", "/ticket Courier lost the parcel order:TB-77")  # its card: here
        await tg.send(SERVICE, "xiaomei", "/ticket Fan rattles category:hardware")  # its card: a warehouse topic
        helped = await tg.send(SERVICE, "xiaomei", "/help")
        await tg.settle()
        card = tg.card(SERVICE, 1001)
        ticket_topic = fake.topics(WAREHOUSE)[0]["message_thread_id"]
        lunch = (await tg.adapter.bot.create_forum_topic(WAREHOUSE, "Lunch orders")).message_thread_id
        help_answer = next(m for m in fake.bot_messages(SERVICE)
                           if m["reply_to_message_id"] == helped["message"]["message_id"])
        before, said = trace(tg), len(fake.bot_messages(SERVICE)) + len(fake.bot_messages(WAREHOUSE))
        # chatter: plain messages, replies to messages that are no ticket's, a topic that is no ticket's, edits
        keys = await courier(SERVICE, "Anyone seen the van keys?")
        await courier(SERVICE, "Under the desk", reply_to=keys["message_id"])
        await courier(SERVICE, "thanks bot", reply_to=help_answer["message_id"])
        noodles = await courier(WAREHOUSE, "Noodles for me", message_thread_id=lunch)
        await courier(WAREHOUSE, "Same", reply_to=noodles["message_id"])
        await edit(SERVICE, keys["message_id"], "Anyone seen the van keys? Found them")
        await edit(WAREHOUSE, noodles["message_id"], "Noodles for me, no chili")
        await courier(WAREHOUSE, "General chatter")
        assert trace(tg) == before  # no person registered, no key remembered
        assert len(fake.bot_messages(SERVICE)) + len(fake.bot_messages(WAREHOUSE)) == said  # and nothing said
        # a reply to the card, and a message in the ticket's topic, are comments; editing one edits it
        await courier(SERVICE, "Parcel found at the depot", reply_to=card["message_id"])
        swap = await courier(WAREHOUSE, "Fan swapped", message_thread_id=ticket_topic)
        await edit(WAREHOUSE, swap["message_id"], "Fan swapped, rattle gone")
        assert [(c.author, c.body) for c in tg.ticket(1001).comments] == [("Courier Liu", "Parcel found at the depot")]
        comment = tg.ticket(1002).comments[0]
        assert (comment.author, comment.body, comment.edited) == ("Courier Liu", "Fan swapped, rattle gone", True)
        assert trace(tg)[0] == before[0] + 1  # now he is someone: he wrote on a ticket
    finally:
        await tg.stop()


@pytest.mark.asyncio
async def test_buttons_are_answered_and_the_card_is_edited_in_place(tg, fake):
    await tg.send(SERVICE, "xiaomei", "/ticket Parcel arrived crushed order:TB-1")
    await tg.settle()
    card = tg.card(SERVICE, 1001)
    assert "NEW" in card["plain_text"] and "Assignee: unassigned" in card["plain_text"]
    await tg.press(SERVICE, card["message_id"], "xiaomei", "c:1001")
    assert fake.answered_callbacks[-1]["text"] == "You took #1001." and not fake.answered_callbacks[-1]["show_alert"]
    await tg.settle()
    card = tg.card(SERVICE, 1001)
    assert "OPEN" in card["plain_text"] and "Assignee: Xiaomei" in card["plain_text"]
    assert card["edit_date"] is not None
    assert tg.bot_texts(SERVICE)[-1] == "Xiaomei took #1001."
    # pressing Claim again: the core refuses, shown as an alert — still answered
    await tg.press(SERVICE, card["message_id"], "xiaomei", "c:1001")
    assert fake.answered_callbacks[-1]["show_alert"] is True
    assert fake.answered_callbacks[-1]["text"] == "#1001 is already assigned to Xiaomei."
    await tg.press(SERVICE, card["message_id"], "boss", "p:1001:urgent")
    await tg.press(SERVICE, card["message_id"], "xiaomei", "s:1001:resolved")
    await tg.settle()
    card = tg.card(SERVICE, 1001)
    assert card["plain_text"].startswith("✅ #1001 Parcel arrived crushed — RESOLVED · 🔴 urgent")
    buttons = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[:2] == ["s:1001:open", "s:1001:closed"] and "c:1001" not in buttons
    assert len(fake.answered_callbacks) == 4
    # a stale or foreign button is answered too
    await tg.processed(fake.user_presses(SERVICE, card["message_id"], uid("xiaomei"), "x:1", check_button=False))
    assert fake.answered_callbacks[-1]["text"] == "This button is no longer valid."


@pytest.mark.asyncio
async def test_redelivered_message_is_one_comment(tg, fake):
    card = await create(tg)
    update = await tg.send(WAREHOUSE, "lao_wang", "Swap shipped", reply_to=card["message_id"])
    # the same chat + message id again, under a new update id (e.g. after switching to a webhook)
    again = fake.queue_update({"message": update["message"]})
    assert again["update_id"] != update["update_id"]
    await tg.processed(again)
    assert [c.body for c in tg.ticket(1001).comments] == ["Swap shipped"]
    assert not any("Swap shipped" in t for t in tg.bot_texts(WAREHOUSE))  # and nothing was said about it


@pytest.mark.asyncio
async def test_start_privately_and_in_a_group_helps_with_setup(tg, fake):
    fake.user_starts_bot(uid("boss"))
    await tg.send(uid("boss"), "boss", "/start")
    assert tg.last_text(uid("boss")) == ("Hi Manager Chen! You will get your ticket notifications here. Your Telegram "
                                         "id is 1004 (for the desk's config). Type /help for the commands.")
    await tg.send(uid("boss"), "boss", "hello?")
    assert tg.last_text(uid("boss")) == "Type /ticket to open a ticket, or /help for the commands."
    await tg.send(WAREHOUSE, "boss", "/start@AfterdeskBot")
    assert tg.last_text(WAREHOUSE).startswith('This chat is "Warehouse", id -100200. To get a group\'s tickets here, '
                                              'set its channels.telegram = "-100200"')
    # someone the config does not know learns their id for it; opening the bot records nothing about them
    before = trace(tg)
    fake.add_user(2001, "Courier Liu", "liu_courier")
    started = fake.user_sends(2001, 2001, "/start")
    await tg.processed(started)
    assert tg.answer_to(2001, started["message"]["message_id"]).startswith(
        "Hi Courier Liu! You will get your ticket notifications here. Your Telegram id is 2001")
    assert trace(tg) == before


@pytest.mark.asyncio
async def test_the_token_never_reaches_the_logs(fake, db_file, clock, caplog):
    caplog.set_level(logging.DEBUG)
    tg = await TelegramDesk(fake, db_file, clock).start()
    try:
        await create(tg)
        fake.fail_next("sendMessage", 502, "Bad Gateway")
        await tg.send(WAREHOUSE, "lao_wang", "/ticket claim 1001")
    finally:
        await tg.stop()
    http_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/bot***/getUpdates" in line for line in http_lines), http_lines[:3]
    assert fake.token not in caplog.text
    assert fake.token.split(":")[1] not in caplog.text


@pytest.mark.asyncio
async def test_an_update_is_confirmed_to_telegram_only_once_it_is_handled(tg, fake):
    # Telegram keeps an update until a later getUpdates confirms it: confirming it before it is handled
    # would lose what someone wrote if the bot stopped in between.
    with core_held(tg.rt) as entered:
        update = fake.user_sends(SERVICE, uid("xiaomei"), "/ticket Fan rattles category:hardware")
        await fake.async_wait_for(entered.is_set, message="the command reached the core")
        assert [u["update_id"] for u in fake.pending_updates] == [update["update_id"]]
    await tg.processed(update)
    assert tg.ticket_count() == 1
    assert update["update_id"] not in [u["update_id"] for u in fake.pending_updates]
