"""The PC shop's blue-screen case (bot/demo.py), first report to closed, played entirely through Telegram."""
from __future__ import annotations

import pytest

from tests.telegram.conftest import SERVICE, WAREHOUSE, TelegramDesk, uid

REPORT = ('/ticket New gaming PC blue-screens (MEMORY_MANAGEMENT) order:TB20261111-8841 customer:"Zhang Wei" '
          '旺旺:zw_gamer address:"Room 1203, 88 Century Ave, Pudong, Shanghai" category:hardware '
          'product:"gaming PC" priority:high')


@pytest.mark.asyncio
async def test_pc_shop_case_from_first_report_to_closed(tg: TelegramDesk, fake, clock):
    for who in ("lao_wang", "a_jie", "boss"):  # they opened the bot; Xiaomei never did
        fake.user_starts_bot(uid(who))
    # The bot is admin in the after-sales group (it sees every message). (The fake gives a captioned
    # "/ticket" no bot_command caption entity, so privacy mode would drop the photo's command.)
    fake.add_chat(SERVICE, "supergroup", "After-sales", bot_admin=True)

    async def step(chat: int, who: str, text: str, minutes: int = 7, **kw) -> None:
        clock.advance(minutes=minutes)
        await tg.send(chat, who, text, **kw)
        await tg.settle()

    # Customer service reports it, with the customer's photo, in the after-sales group
    await step(SERVICE, "xiaomei", REPORT, photo=True)
    assert tg.last_text(SERVICE) == ("Created #1001: New gaming PC blue-screens (MEMORY_MANAGEMENT) "
                                     "(group: Warehouse, assigned to Lao Wang).")
    card = tg.card(WAREHOUSE, 1001)
    assert tg.last_text(uid("lao_wang")) == "Xiaomei assigned you #1001: New gaming PC blue-screens (MEMORY_MANAGEMENT)"
    await step(SERVICE, "boss", "/ticket watch 1001")
    assert tg.last_text(SERVICE) == "You are watching #1001."
    # the warehouse talks it through under the card
    reply_to = card["message_id"]
    await step(WAREHOUSE, "lao_wang", "Which memory module does he have — black or white heatsink? Need it for the swap.",
               minutes=11, reply_to=reply_to)
    await step(WAREHOUSE, "xiaomei", "Black heatsink, 2×16 GB (customer sent a photo).", minutes=11, reply_to=reply_to)
    await step(WAREHOUSE, "lao_wang", "/ticket set 1001 tracking:SF1402238871")
    await step(WAREHOUSE, "lao_wang", "/ticket status 1001 waiting Replacement module shipped, waiting for the customer")
    clock.advance(days=2)
    await step(SERVICE, "xiaomei", "/ticket status 1001 resolved Customer confirms: no blue screen after the swap")
    await step(SERVICE, "xiaomei", "/ticket set 1001 return:YT7788123456")
    clock.advance(days=3)
    await step(WAREHOUSE, "a_jie", "Faulty module back and retested: fails MemTest86 at 9 GB — defective.",
               minutes=11, reply_to=reply_to)
    await step(WAREHOUSE, "a_jie", "/ticket set 1001 rma:KST-RMA-55102")
    await step(WAREHOUSE, "lao_wang", "/ticket status 1001 closed Vendor RMA filed, case done")

    # What the warehouse group shows: one card, edited in place to its final state …
    card = tg.card(WAREHOUSE, 1001)
    assert card["message_id"] == reply_to and card["edit_date"] is not None
    assert card["plain_text"].splitlines() == [
        "🔒 #1001 New gaming PC blue-screens (MEMORY_MANAGEMENT) — CLOSED · 🟠 high",
        "Order: TB20261111-8841", "Customer: Zhang Wei", "Shop handle: zw_gamer", "Category: hardware",
        "Product: gaming PC", "Ship to: Room 1203, 88 Century Ave, Pudong, Shanghai",
        "Replacement: SF1402238871", "Return: YT7788123456", "RMA: KST-RMA-55102",
        "Group: Warehouse · Assignee: Lao Wang · Reporter: Xiaomei"]
    assert [[b["callback_data"] for b in row] for row in card["reply_markup"]["inline_keyboard"]] == [["s:1001:open"]]
    # … the people's replies under it, and the bot's notices as replies to it, in order
    thread = fake.replies_to(WAREHOUSE, reply_to)
    people = [m["plain_text"] for m in thread if m["from"]["id"] != fake.bot_id]
    assert people == ["Which memory module does he have — black or white heatsink? Need it for the swap.",
                      "Black heatsink, 2×16 GB (customer sent a photo).",
                      "Faulty module back and retested: fails MemTest86 at 9 GB — defective."]
    notices = [m["plain_text"] for m in thread if m["from"]["id"] == fake.bot_id and not
               m["plain_text"].startswith("Xiaomei: ")]
    assert notices == [
        "Lao Wang updated #1001: replacement tracking → SF1402238871.",
        "Lao Wang set #1001 to waiting: Replacement module shipped, waiting for the customer",
        "Xiaomei set #1001 to resolved: Customer confirms: no blue screen after the swap",
        "Xiaomei updated #1001: return tracking → YT7788123456.",
        "A-Jie updated #1001: rma → KST-RMA-55102.",
        "Lao Wang set #1001 to closed: Vendor RMA filed, case done",
    ]
    # Xiaomei cannot be messaged privately: status news reaches her as mentions under the card
    mentions = [m["plain_text"].split("\n")[0] for m in thread if m["plain_text"].startswith("Xiaomei: ")]
    assert mentions == [
        "Xiaomei: #1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)) is now waiting — by Lao Wang.",
        "Xiaomei: #1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)) is now closed — by Lao Wang."]
    # the manager, watching, followed it privately
    assert tg.bot_texts(uid("boss")) == [
        "Lao Wang commented on #1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)): Which memory module does he "
        "have — black or white heatsink? Need it for the swap.",
        "Xiaomei commented on #1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)): Black heatsink, 2×16 GB "
        "(customer sent a photo).",
        "#1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)) is now waiting — by Lao Wang.",
        "#1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)) is now resolved — by Xiaomei.",
        "A-Jie commented on #1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)): Faulty module back and "
        "retested: fails MemTest86 at 9 GB — defective.",
        "#1001 (New gaming PC blue-screens (MEMORY_MANAGEMENT)) is now closed — by Lao Wang."]
    assert tg.outbox("parked") == []

    # and the manager reads the whole case back
    await step(SERVICE, "boss", "/ticket show 1001")
    shown = tg.last_text(SERVICE)
    assert shown.startswith("🔒 #1001 New gaming PC blue-screens (MEMORY_MANAGEMENT) — CLOSED")
    assert "Files: photo-" in shown
    assert "Lao Wang: Which memory module does he have" in shown
    assert "Lao Wang: status: resolved → closed (Vendor RMA filed, case done)" in shown
    view = tg.ticket(1001)
    assert view.status == "closed" and view.attachments[0].mime_type == "image/jpeg"
    assert view.attachments[0].file_id == fake.messages(SERVICE)[0]["photo"]
