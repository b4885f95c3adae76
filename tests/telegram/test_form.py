"""`/ticket` alone: the guided form, its state in the database, skip, /cancel, buttons, a restart midway."""
from __future__ import annotations

import pytest

from store.models import FormSession
from tests.telegram.conftest import SERVICE, WAREHOUSE, TelegramDesk, uid


def question(tg: TelegramDesk, chat: int = SERVICE) -> dict:
    return tg.fake.bot_messages(chat)[-1]


async def answer(tg: TelegramDesk, text: str, who: str = "xiaomei", chat: int = SERVICE) -> str:
    """Reply to the bot's last question (in privacy mode only replies to the bot reach it)."""
    await tg.send(chat, who, text, reply_to=question(tg, chat)["message_id"])
    return question(tg, chat)["plain_text"]


def forms(tg: TelegramDesk) -> list[tuple[str, str, str]]:
    with tg.rt.desk.uow() as uow:
        return [(f.chat_id, f.user_id, f.step) for f in uow.session.query(FormSession)]


@pytest.mark.asyncio
async def test_form_asks_each_field_accepts_skip_and_buttons(tg, fake):
    await tg.send(SERVICE, "xiaomei", "/ticket")
    first = question(tg)
    assert first["plain_text"].startswith("New ticket (1/8) — what is the problem?")
    assert first["reply_markup"] == {"force_reply": True, "selective": True}
    assert forms(tg) == [(str(SERVICE), "1001", "title")]
    said = await answer(tg, "skip")
    assert said.startswith("A ticket needs a summary, it cannot be skipped.\nNew ticket (1/8)")
    assert (await answer(tg, "Blue screen <after> boot & reboot")).startswith("(2/8) Order number?")
    assert (await answer(tg, "TB20261111-8841")).startswith("(3/8) Customer's name?")
    assert (await answer(tg, "skip")).startswith("(4/8) Customer's shop handle")
    assert (await answer(tg, "zw_gamer")).startswith("(5/8) Shipping address?")
    assert (await answer(tg, "Room 1203, 88 Century Ave\nPudong, Shanghai")).startswith("(6/8) Category?")
    ask = question(tg)
    buttons = [b["callback_data"] for row in ask["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["f:1001:category:0", "f:1001:category:1", "f:1001:category:2", "f:1001:category:3",
                       "f:1001:category:-"]
    # someone else's press is refused, politely
    await tg.press(SERVICE, ask["message_id"], "boss", "f:1001:category:0")
    assert fake.answered_callbacks[-1]["text"] == "This form belongs to someone else."
    assert fake.answered_callbacks[-1]["show_alert"]
    await tg.press(SERVICE, ask["message_id"], "xiaomei", "f:1001:category:0")
    assert fake.answered_callbacks[-1]["text"] == "hardware"
    assert fake.message(SERVICE, ask["message_id"])["reply_markup"] is None  # buttons used up
    assert question(tg)["plain_text"].startswith("(7/8) Product?")
    assert (await answer(tg, "gaming PC")).startswith("(8/8) Priority?")
    said = await answer(tg, "very")
    assert said.startswith("'very' is not one of: urgent, high, normal, low.\n(8/8) Priority?")
    said = await answer(tg, "高")
    assert said.startswith("Created #1001: Blue screen <after> boot & reboot (group: Warehouse, assigned to Lao Wang)")
    assert forms(tg) == []
    view = tg.ticket(1001)
    assert (view.order_no, view.customer_name, view.customer_handle, view.category, view.product, view.priority) == (
        "TB20261111-8841", "", "zw_gamer", "hardware", "gaming PC", "high")
    assert view.shipping_address == "Room 1203, 88 Century Ave\nPudong, Shanghai"
    await tg.settle()
    assert tg.card(WAREHOUSE, 1001)["plain_text"].startswith("🔧 #1001 Blue screen <after> boot & reboot — OPEN")


@pytest.mark.asyncio
async def test_cancel_ends_the_form_and_nothing_is_created(tg, fake):
    await tg.send(SERVICE, "xiaomei", "/cancel")
    assert tg.last_text(SERVICE) == "There is no form to cancel."
    await tg.send(SERVICE, "xiaomei", "/new")
    await answer(tg, "Refund for a missing cable")
    stale = question(tg)
    await tg.send(SERVICE, "xiaomei", "/cancel")
    assert tg.last_text(SERVICE) == "Cancelled — no ticket was created."
    assert forms(tg) == [] and tg.ticket_count() == 0
    # a late answer to the old question is no form answer any more (and no comment either)
    before = len(fake.bot_messages(SERVICE))
    await tg.send(SERVICE, "xiaomei", "TB-1", reply_to=stale["message_id"])
    assert len(fake.bot_messages(SERVICE)) == before and tg.ticket_count() == 0


@pytest.mark.asyncio
async def test_two_people_fill_forms_side_by_side_and_replies_to_cards_stay_comments(tg, fake):
    await tg.send(SERVICE, "boss", "/ticket Printer jammed")
    await tg.settle()
    card = tg.card(SERVICE, 1001)
    await tg.send(SERVICE, "xiaomei", "/ticket")
    xiaomei_q = question(tg)
    await tg.send(SERVICE, "boss", "/ticket")
    boss_q = question(tg)
    await tg.send(SERVICE, "xiaomei", "Cable missing", reply_to=xiaomei_q["message_id"])
    await tg.send(SERVICE, "boss", "Screen cracked", reply_to=boss_q["message_id"])
    # while her form is open, Xiaomei's reply to a card is still a comment
    await tg.send(SERVICE, "xiaomei", "Jam cleared?", reply_to=card["message_id"])
    assert [c.body for c in tg.ticket(1001).comments] == ["Jam cleared?"]
    assert sorted((user, step) for _, user, step in forms(tg)) == [("1001", "order_no"), ("1004", "order_no")]


@pytest.mark.asyncio
async def test_a_restart_in_the_middle_of_the_form_loses_nothing(fake, db_file, clock):
    tg = await TelegramDesk(fake, db_file, clock).start()
    try:
        await tg.send(SERVICE, "xiaomei", "/ticket")
        await answer(tg, "Keyboard keys stick")
        await answer(tg, "TB-9001")
    finally:
        await tg.stop()  # the process goes away; the form lives in the database
    tg = await TelegramDesk(fake, db_file, clock).start()
    try:
        assert forms(tg) == [(str(SERVICE), "1001", "customer_name")]
        assert (await answer(tg, "Li Lei")).startswith("(4/8) Customer's shop handle")
        for _ in range(3):
            await answer(tg, "skip")
        assert question(tg)["plain_text"].startswith("(7/8) Product?")
        await answer(tg, "skip")
        ask = question(tg)
        await tg.press(SERVICE, ask["message_id"], "xiaomei", f"f:{uid('xiaomei')}:priority:-")
        # (the card lands in this same chat, maybe before the answer: the answer is the reply to the question)
        assert tg.answer_to(SERVICE, ask["message_id"]).startswith(
            "Created #1001: Keyboard keys stick (group: Customer service)")
        view = tg.ticket(1001)
        assert (view.order_no, view.customer_name, view.priority) == ("TB-9001", "Li Lei", "normal")
    finally:
        await tg.stop()
