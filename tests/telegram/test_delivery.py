"""Notifications to Telegram: pacing and 429s, kicked bots and blocked users, forum topics, limits."""
from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from bot.delivery import Delivery, PermanentError, RetryLater, TransientError
from handlers import grammar
from handlers.commands import Actor, AddComment
from handlers.replies import Text
from tests.telegram.conftest import SERVICE, TECH, WAREHOUSE, TelegramDesk, uid

# PTB itself warns (on building a RetryAfter) that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
FAST = 0.005  # Telegram's clock, 200x faster
GROUP_LIMIT = 8  # a stricter group limit than Telegram's 20/min, so a burst must hit it
A_JIE = Actor("telegram", "1003", display_name="A-Jie")
LAO_WANG = Actor("telegram", "1002", display_name="Lao Wang")


async def run(tg: TelegramDesk, text: str, who: Actor = A_JIE) -> None:
    """A command straight into the core (these tests are about what comes out)."""
    reply = await tg.rt.submit(grammar.parse(text, who))
    assert reply.ok, reply.texts


def notices(tg: TelegramDesk, chat: int) -> list[str]:
    return [t for t in tg.bot_texts(chat) if t.startswith("A-Jie on #")]


def backlog(tg: TelegramDesk, comments: int) -> None:
    """Two tickets (warehouse, tech) and many comments, committed while the bot is down."""
    rt = tg.prepare()
    for text in ["Fan rattles category:hardware", "RAM errors product:memory"] + [
            f"comment {1001 + i % 2} note {i}" for i in range(comments)]:
        assert rt.execute(grammar.parse(text, A_JIE)).ok


@pytest.mark.asyncio
async def test_429_storm_every_notification_once_and_in_order(fake, db_file, clock):
    # our own pacer is off (huge budgets): Telegram answers 429 and retry_after must be honoured
    loose = {"outbox": {"telegram_group_per_minute": 100000, "telegram_global_per_second": 100000}}
    tg = TelegramDesk(fake, db_file, clock, time_scale=FAST, **loose)
    backlog(tg, 28)
    fake.enforce_limits(per_chat_per_second=1.0, per_group_per_minute=GROUP_LIMIT, global_per_second=30,
                        time_scale=FAST)
    for chat in (WAREHOUSE, TECH):  # and, however slow this machine is, a few 429s for certain
        fake.rate_limit_next("*", 1, times=3, chat_id=chat)
    await tg.start()
    try:
        await tg.settle()
        assert tg.outbox("parked") == [] and tg.outbox("pending") == []
    finally:
        await tg.stop()
    assert fake.rate_limited_count >= 6
    assert notices(tg, WAREHOUSE) == [f"A-Jie on #1001: note {i}" for i in range(0, 28, 2)]
    assert notices(tg, TECH) == [f"A-Jie on #1002: note {i}" for i in range(1, 28, 2)]


@pytest.mark.asyncio
async def test_the_pacer_keeps_under_telegrams_limits(fake, db_file, clock):
    # the same burst, with our pacer set to the same limits: no 429 at all
    paced = {"outbox": {"telegram_interval": FAST, "telegram_group_per_minute": GROUP_LIMIT,
                        "telegram_global_per_second": 30}}
    tg = TelegramDesk(fake, db_file, clock, time_scale=FAST, **paced)
    backlog(tg, 28)
    fake.enforce_limits(per_chat_per_second=1.0, per_group_per_minute=GROUP_LIMIT, global_per_second=30,
                        time_scale=FAST)
    await tg.start()
    try:
        await tg.settle()
    finally:
        await tg.stop()
    assert notices(tg, WAREHOUSE) == [f"A-Jie on #1001: note {i}" for i in range(0, 28, 2)]
    assert notices(tg, TECH) == [f"A-Jie on #1002: note {i}" for i in range(1, 28, 2)]
    assert fake.rate_limited_count == 0, [c for c in fake.failed_calls if c["status"] == 429]


@pytest.mark.asyncio
async def test_a_kicked_bot_parks_the_card_with_a_log_line_and_tells_the_reporter(tg, fake, caplog):
    fake.remove_bot_from(WAREHOUSE)
    fake.user_starts_bot(uid("xiaomei"))
    await tg.send(SERVICE, "xiaomei", "/ticket Fan rattles category:hardware")
    with caplog.at_level(logging.ERROR, logger="afterdesk.outbox"):
        await tg.settle()
    parked = tg.outbox("parked")
    assert [(r.kind, r.destination) for r in parked][:1] == [("card", "telegram:-100200")]
    assert "bot was kicked from the supergroup chat" in parked[0].last_error
    assert any("parked: -100200 could not be reached on telegram: Forbidden: bot was kicked" in r.getMessage()
               for r in caplog.records)
    assert tg.last_text(uid("xiaomei")).startswith(
        "I could not post #1001 in -100200: Forbidden: bot was kicked from the supergroup chat. Invite me")


@pytest.mark.asyncio
async def test_dms_go_privately_or_become_a_mention_under_the_card(tg, fake, caplog):
    fake.user_starts_bot(uid("a_jie"))
    fake.user_starts_bot(uid("lao_wang"))
    fake.user_blocks_bot(uid("lao_wang"))
    await run(tg, "Fan rattles category:hardware", who=Actor("telegram", "1001", display_name="Xiaomei"))
    with caplog.at_level(logging.WARNING, logger="afterdesk.telegram"):
        await tg.settle()
    card = tg.card(WAREHOUSE, 1001)
    mention = fake.bot_messages(WAREHOUSE)[-1]
    assert mention["plain_text"].startswith("Lao Wang: Xiaomei assigned you #1001: Fan rattles\n(Open a private chat "
                                            "with @AfterdeskBot and press Start")
    assert mention["reply_to_message_id"] == card["message_id"]
    assert {"type": "text_link", "offset": 0, "length": 8, "url": "tg://user?id=1002"} in mention["entities"]
    assert any("cannot DM user 1002 (Forbidden: bot was blocked by the user); mentioned them" in r.getMessage()
               for r in caplog.records)
    assert tg.outbox("parked") == []
    # someone who started the bot gets it privately
    await run(tg, "assign 1001 @ajie_tech", who=Actor("telegram", "1004", display_name="Manager Chen"))
    await tg.settle()
    assert tg.last_text(uid("a_jie")) == "Manager Chen assigned you #1001: Fan rattles"
    # nobody's DM can fall back when the group has no Telegram chat: parked, hint-less
    fake.remove_bot_from(WAREHOUSE)
    await run(tg, "status 1001 resolved", who=Actor("telegram", "1003", display_name="A-Jie"))
    await tg.settle()
    dm = [r for r in tg.outbox("parked") if r.kind == "dm"]
    assert dm and "cannot DM user 1001" in dm[0].last_error


@pytest.mark.asyncio
async def test_forum_supergroup_gets_a_topic_per_ticket(fake, db_file, clock):
    fake.add_chat(WAREHOUSE, "supergroup", "Warehouse", is_forum=True, bot_admin=True)
    fake.add_chat(TECH, "supergroup", "Technicians", is_forum=True)  # a forum, but the bot may not make topics
    tg = await TelegramDesk(fake, db_file, clock).start()
    try:
        long_title = "Gaming PC blue-screens " + "after the BIOS update " * 8
        await tg.send(SERVICE, "xiaomei", f"/ticket {long_title} category:hardware")
        await tg.send(SERVICE, "xiaomei", "/ticket Second case category:hardware")
        await tg.send(SERVICE, "xiaomei", "/ticket RAM errors product:memory")
        await tg.settle()
        topics = fake.topics(WAREHOUSE)
        assert [t["name"][:24] for t in topics] == ["#1001 Gaming PC blue-scr", "#1002 Second case"]
        assert len(topics[0]["name"]) <= 128 and topics[0]["name"].endswith("…")
        first = topics[0]["message_thread_id"]
        card = tg.card(WAREHOUSE, 1001, thread=first)
        # a plain message in the topic (the bot is admin, so it sees it) is a comment
        await tg.send(WAREHOUSE, "lao_wang", "Swapping the RAM now", message_thread_id=first)
        await tg.send(WAREHOUSE, "lao_wang", "/ticket claim 1002", message_thread_id=topics[1]["message_thread_id"])
        assert [c.body for c in tg.ticket(1001).comments] == ["Swapping the RAM now"]
        assert tg.ticket(1002).comments == ()
        await tg.send(SERVICE, "xiaomei", "/ticket status 1001 waiting Parts ordered")
        await tg.settle()
        notice = fake.bot_messages(WAREHOUSE, first)[-1]
        assert notice["plain_text"] == "Xiaomei set #1001 to waiting: Parts ordered"
        assert notice["reply_to_message_id"] == card["message_id"]
        assert "WAITING" in tg.card(WAREHOUSE, 1001, thread=first)["plain_text"]
        # no rights in the tech forum: the card goes to its General topic
        assert fake.topics(TECH) == [] and tg.card(TECH, 1003)["message_thread_id"] is None
    finally:
        await tg.stop()


@pytest.mark.asyncio
async def test_long_texts_are_cut_with_a_pointer(tg, fake):
    await run(tg, "Fan rattles category:hardware")
    await tg.settle()
    body = "Retest log: " + "0123456789 & <x> " * 400  # ~7000 characters, from Slack or the CLI
    await tg.rt.submit(AddComment(A_JIE, number=1001, body=body))
    await tg.settle()
    notice = fake.bot_messages(WAREHOUSE)[-1]["plain_text"]
    assert len(notice) <= 4096 and notice.startswith("A-Jie on #1001: Retest log: 0123456789 & <x> ")
    assert notice.endswith("\n… /ticket show 1001")
    for i in range(12):
        await tg.rt.submit(AddComment(A_JIE, number=1001, body=f"{i:02d} " + "long findings " * 100))
    await tg.settle()  # (their notices land in the same chat)
    asked = await tg.send(WAREHOUSE, "lao_wang", "/ticket show 1001")
    shown = tg.answer_to(WAREHOUSE, asked["message"]["message_id"])
    assert len(shown) <= 4096 and shown.startswith("🔧 #1001 Fan rattles")
    assert "earlier comment(s) not shown" in shown and "11 long findings" in shown


@pytest.mark.asyncio
async def test_sender_maps_bot_api_errors(tg, fake):
    await run(tg, "Fan rattles category:hardware")
    await tg.settle()
    sender = tg.adapter.sender
    view = tg.ticket(1001)
    card = tg.card(WAREHOUSE, 1001)
    same = Delivery(row_id=900, kind="card", platform="telegram", chat_id=str(WAREHOUSE), ticket=view,
                    card_message_id=str(card["message_id"]))
    assert (await sender.deliver(same)).message_id == str(card["message_id"])  # "not modified" is success
    post = Delivery(row_id=901, kind="post", platform="telegram", chat_id=str(WAREHOUSE), text=Text("duplicate"))
    fake.rate_limit_next("sendMessage", 3)
    with pytest.raises(RetryLater) as slow:
        await sender.deliver(post)
    assert slow.value.seconds == pytest.approx(0.03)
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(TransientError):
        await sender.deliver(post)
    with pytest.raises(PermanentError) as gone:
        await sender.deliver(Delivery(row_id=902, kind="post", platform="telegram", chat_id="-100999",
                                      text=Text("duplicate")))
    assert gone.value.hint == "invite" and "chat not found" in gone.value.reason.lower()
    sent = await sender.deliver(post)
    edit = Delivery(row_id=903, kind="edit", platform="telegram", chat_id=str(WAREHOUSE),
                    target_message_id=sent.message_id, text=Text("n_claimed", {"actor": "A <b>", "ref": "#1001"}))
    await sender.deliver(edit)
    await sender.deliver(edit)  # twice: not modified, still fine
    assert fake.message(WAREHOUSE, int(sent.message_id))["plain_text"] == "A <b> took #1001."


@pytest.mark.asyncio
async def test_a_deleted_card_is_posted_anew_and_then_edited_in_place(tg, fake):
    await run(tg, "Fan rattles category:hardware")
    await tg.settle()
    old = tg.card(WAREHOUSE, 1001)
    await tg.adapter.bot.delete_message(WAREHOUSE, old["message_id"])  # someone cleaned up the group
    await run(tg, "priority 1001 urgent", who=LAO_WANG)
    await tg.settle()
    card = tg.card(WAREHOUSE, 1001)
    assert card["message_id"] != old["message_id"] and "urgent" in card["plain_text"]
    assert tg.outbox("parked") == []
    # the new card is the ticket's card now: the next change edits it in place, its notice replies to it
    await run(tg, "status 1001 waiting Fan on order", who=LAO_WANG)
    await tg.settle()
    again = tg.card(WAREHOUSE, 1001)
    assert again["message_id"] == card["message_id"] and "WAITING" in again["plain_text"] and again["edit_date"]
    notices = [m["plain_text"] for m in fake.replies_to(WAREHOUSE, card["message_id"])
               if m["plain_text"].startswith("Lao Wang ")]
    assert notices == ["Lao Wang changed #1001 priority from normal to urgent.",
                       "Lao Wang set #1001 to waiting: Fan on order"]
    assert tg.outbox("parked") == []
    # and a reply to it is a comment
    await tg.send(WAREHOUSE, "a_jie", "Fan arrives Monday", reply_to=card["message_id"])
    assert [(c.author, c.body) for c in tg.ticket(1001).comments][-1] == ("A-Jie", "Fan arrives Monday")


@pytest.mark.asyncio
async def test_sender_posts_a_card_anew_when_it_cannot_be_edited(tg, fake):
    await run(tg, "Fan rattles category:hardware")
    await tg.settle()
    sender, view = tg.adapter.sender, tg.ticket(1001)
    chatter = fake.user_sends(WAREHOUSE, uid("lao_wang"), "/ticket show 1001")["message"]["message_id"]
    # "message can't be edited" (not the bot's message): a new card, which replaces the old one
    card = Delivery(row_id=910, kind="card", platform="telegram", chat_id=str(WAREHOUSE), ticket=view,
                    card_message_id=str(chatter))
    posted = await sender.deliver(card)
    assert posted.replaced and posted.message_id != str(chatter)
    assert fake.message(WAREHOUSE, int(posted.message_id))["plain_text"].startswith("🔧 #1001 Fan rattles")
    # the card's forum topic is gone too ("message thread not found"): posted where a card would go
    gone = dataclasses.replace(card, row_id=911, card_message_id="99999", topic_id="777")
    posted = await sender.deliver(gone)
    assert posted.replaced and posted.topic_id is None
    # other refusals of an edit still park the row
    with pytest.raises(PermanentError):
        await sender.deliver(dataclasses.replace(card, row_id=912, card_message_id="1", chat_id="-100999"))


@pytest.mark.asyncio
async def test_a_request_telegram_refused_does_not_use_up_the_groups_minute():
    from telegram.error import RetryAfter

    from bot.telegram.pacing import Pacer

    pacer = Pacer(group_per_minute=1, global_per_second=30, time_scale=600.0)  # one message per 10 hours

    async def send(refused: bool) -> None:
        async with pacer.slot(WAREHOUSE):
            if refused:
                raise RetryAfter(1)

    with pytest.raises(RetryAfter):
        await send(refused=True)
    await asyncio.wait_for(send(refused=False), 5)  # not 10 hours: the refused one was not counted
