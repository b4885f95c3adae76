"""The demo's PC-shop case through Slack, from `/ticket` to closed, read back from the fake Slack."""
from __future__ import annotations

import pytest

from handlers.clock import FakeClock
from tests.slack.driver import SlackDriver

OPENING = ('New gaming PC blue-screens (MEMORY_MANAGEMENT) order:TB20261111-8841 customer:“Zhang Wei” '
           '旺旺:zw_gamer address:"Room 1203, 88 Century Ave, Pudong, Shanghai" category:hardware '
           'product:"gaming PC" priority:high')


@pytest.mark.asyncio
async def test_the_blue_screen_case_from_report_to_closed(slack: SlackDriver, clock: FakeClock) -> None:
    fake = slack.fake

    async def command(who: str, text: str) -> str:
        clock.advance(minutes=7)
        answer = await slack.slash(who, text)
        await slack.deliver()
        [response] = answer.responses
        return response["text"]

    async def reply(who: str, text: str, files: list[str] = ()) -> None:
        clock.advance(minutes=11)
        await slack.reply(who, "CWAREHOUSE", card, text, files)
        await slack.deliver()

    created = await command("UXIAOMEI", OPENING)
    assert created == ("Created #1001: New gaming PC blue-screens (MEMORY_MANAGEMENT) "
                       "(group: Warehouse, assigned to Lao Wang).")
    [posted] = slack.cards("CWAREHOUSE")
    card = posted["ts"]
    photo = fake.add_file(b"\xff\xd8", "bsod-photo.jpg", user="UXIAOMEI", mimetype="image/jpeg")
    await reply("UXIAOMEI", "Customer's photo of the blue screen", [photo["id"]])
    assert await command("UBOSS", "watch 1001") == "You are watching #1001."
    await reply("ULAOWANG", "Which memory module does he have — black or white heatsink? Need it for the swap.")
    await reply("UXIAOMEI", "Black heatsink, 2×16 GB (customer sent a photo).")
    await command("ULAOWANG", "set 1001 tracking:SF1402238871")
    await command("ULAOWANG", "status 1001 waiting Replacement module shipped, waiting for the customer")
    clock.advance(days=2)
    await command("UXIAOMEI", "status 1001 resolved Customer confirms: no blue screen after the swap")
    await command("UXIAOMEI", "set 1001 return:YT7788123456")
    clock.advance(days=3)
    await reply("UAJIE", "Faulty module back and retested: fails MemTest86 at 9 GB — defective.")
    await command("UAJIE", "set 1001 rma:KST-RMA-55102")
    assert await command("ULAOWANG", "status 1001 closed Vendor RMA filed, case done") == "#1001 is now closed."

    # The warehouse channel: one card, updated in place to its final state …
    assert [m["ts"] for m in fake.messages("CWAREHOUSE")] == [card]
    final = fake.message("CWAREHOUSE", card)
    head = final["blocks"][0]["text"]["text"]
    assert head == ("🔒 *#1001 New gaming PC blue-screens (MEMORY_MANAGEMENT)*\n*CLOSED* · 🟠 high")
    fields = {f["text"].split("\n")[0].strip("*"): f["text"].split("\n", 1)[1]
              for b in final["blocks"] if b["type"] == "section" for f in b.get("fields", [])}
    assert fields == {"Order": "TB20261111-8841", "Customer": "Zhang Wei", "Shop handle": "zw_gamer",
                      "Category": "hardware", "Product": "gaming PC",
                      "Ship to": "Room 1203, 88 Century Ave, Pudong, Shanghai", "Replacement": "SF1402238871",
                      "Return": "YT7788123456", "RMA": "KST-RMA-55102"}
    assert "Assignee: <@ULAOWANG> · Reporter: <@UXIAOMEI>" in final["blocks"][2]["elements"][0]["text"]
    # … and its thread reads as the case's history: people's replies and the bot's notices, in order
    assert [(m["user"], m["text"]) for m in fake.thread("CWAREHOUSE", card)] == [
        ("UXIAOMEI", "Customer's photo of the blue screen"),
        ("ULAOWANG", "Which memory module does he have — black or white heatsink? Need it for the swap."),
        ("UXIAOMEI", "Black heatsink, 2×16 GB (customer sent a photo)."),
        ("UBOT", "Lao Wang updated #1001: replacement tracking → SF1402238871."),
        ("UBOT", "Lao Wang set #1001 to waiting: Replacement module shipped, waiting for the customer"),
        ("UBOT", "Xiaomei set #1001 to resolved: Customer confirms: no blue screen after the swap"),
        ("UBOT", "Xiaomei updated #1001: return tracking → YT7788123456."),
        ("UAJIE", "Faulty module back and retested: fails MemTest86 at 9 GB — defective."),
        ("UBOT", "A-Jie updated #1001: rma → KST-RMA-55102."),
        ("UBOT", "Lao Wang set #1001 to closed: Vendor RMA filed, case done"),
    ]
    assert fake.messages("CSERVICE") == [] and fake.messages("CTECH") == []

    # DMs: the assignee on assignment, the reporter and the watcher on status changes (not their own)
    link = f"<https://fake.slack.com/archives/CWAREHOUSE/p{card.replace('.', '')}|#1001>"
    assert [m["text"] for m in fake.dms("ULAOWANG")] == [
        f"Xiaomei assigned you {link}: New gaming PC blue-screens (MEMORY_MANAGEMENT)"]
    assert [m["text"] for m in fake.dms("UXIAOMEI")] == [
        f"{link} (New gaming PC blue-screens (MEMORY_MANAGEMENT)) is now {s} — by Lao Wang."
        for s in ("waiting", "closed")]
    boss = [m["text"] for m in fake.dms("UBOSS")]
    assert [t.split(" — by ")[-1] for t in boss if "is now" in t] == ["Lao Wang.", "Xiaomei.", "Lao Wang."]
    assert sum("commented on" in t for t in boss) == 3  # the thread replies after he started watching

    # The ticket itself, with every comment, the photo and the audit trail
    t = slack.ticket(1001)
    assert (t.status, t.assignee.name, t.reporter.name, t.rma) == ("closed", "Lao Wang", "Xiaomei", "KST-RMA-55102")
    assert [a.name for a in t.attachments] == ["bsod-photo.jpg"]
    assert [c.author for c in t.comments] == ["Xiaomei", "Lao Wang", "Xiaomei", "Lao Wang", "Xiaomei", "A-Jie",
                                             "Lao Wang"]
    assert t.first_response_at is not None and t.closed_at == clock.now()
