"""`afterdesk demo`: a PC shop's blue-screen case, first report to closed, on the embedded default."""
from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime, UTC
from pathlib import Path

from bot import render_plain
from bot.bootstrap import Runtime, build
from bot.config import load_config
from bot.console import ConsoleChat
from handlers import grammar
from handlers.clock import FakeClock
from handlers.commands import Actor, AddComment, ChatRef, FileRef

CAST = {
    "xiaomei": "Xiaomei (customer service)",
    "lao_wang": "Lao Wang (warehouse lead)",
    "a_jie": "A-Jie (technician)",
    "boss": "Manager Chen",
}


def demo_config(database_url: str) -> dict[str, object]:
    return {
        "desk": {"database_url": database_url, "default_group": "service", "timezone": "Asia/Shanghai",
                 "categories": ["hardware", "software", "shipping", "refund"]},
        "console": {"enabled": True},
        "outbox": {"poll_seconds": 0.05},
        "people": {key: {"name": name, "console": key, "timezone": "Asia/Shanghai"} for key, name in CAST.items()},
        "groups": {
            "service": {"name": "Customer service", "members": ["xiaomei"], "managers": ["boss"],
                        "channels": {"console": "after-sales"}},
            "warehouse": {"name": "Warehouse", "members": ["lao_wang"], "managers": ["boss"],
                          "default_assignee": "lao_wang", "channels": {"console": "warehouse"}},
            "tech": {"name": "Technicians", "members": ["a_jie"], "channels": {"console": "tech"}},
        },
        "routing": [{"category": "hardware", "group": "warehouse"}, {"product": "memory", "group": "tech"}],
        "sla": {"targets": {"high": {"first_response": "1h", "resolution": "3d"},
                            "normal": {"first_response": "4h", "resolution": "5d"}},
                "auto_close_after": "off"},
    }


class Script:
    """Plays people typing commands and replying in the card's thread; logs what each one sees."""

    def __init__(self, runtime: Runtime, chat: ConsoleChat, clock: FakeClock) -> None:
        self.runtime, self.chat, self.clock = runtime, chat, clock
        self.log: list[str] = []

    def actor(self, who: str) -> Actor:
        return Actor("console", who, display_name=CAST[who])

    async def settle(self) -> None:
        await self.runtime.dispatcher.drain()

    async def command(self, who: str, text: str, files: tuple[FileRef, ...] = ()) -> None:
        self.clock.advance(minutes=7)
        cmd = grammar.parse(text, self.actor(who))
        if files:
            cmd = type(cmd)(**{**cmd.__dict__, "attachments": files})  # type: ignore[arg-type]
        reply = await self.runtime.submit(cmd)
        self.log.append(f"▶ {CAST[who]}: /ticket {text}" + (f"  [+ {files[0].name}]" if files else ""))
        self.log += [f"  ◀ (only you) {line}" for line in render_plain.reply(reply).splitlines()]
        await self.settle()

    async def reply_in_thread(self, who: str, channel: str, number: int, text: str) -> None:
        self.clock.advance(minutes=11)
        card = next(m for m in self.chat.chats[channel] if m.text.startswith(tuple(render_plain.STATUS_ICON.values()))
                    and f"#{number} " in m.text)
        msg = self.chat.post(channel, CAST[who], text, thread=card.id)
        self.log.append(f"▶ {CAST[who]} replies in #{channel}'s thread of #{number}: {text}")
        await self.runtime.submit(AddComment(self.actor(who), body=text,
                                             source=ChatRef("console", channel, card.id, msg.id)))
        await self.settle()


async def play(database_url: str) -> tuple[str, str, str]:
    """Run the story; returns (what people did, the channel transcript, the ticket with its audit trail)."""
    clock = FakeClock(datetime(2026, 11, 12, 1, 30, tzinfo=UTC))
    chat = ConsoleChat()
    runtime = build(load_config(env={}, overrides=demo_config(database_url)), clock=clock, console=chat)
    s = Script(runtime, chat, clock)
    try:
        await runtime.start()
        await s.command(
            "xiaomei",
            'New gaming PC blue-screens (MEMORY_MANAGEMENT) order:TB20261111-8841 customer:"Zhang Wei" '
            '旺旺:zw_gamer address:"Room 1203, 88 Century Ave, Pudong, Shanghai" category:hardware '
            'product:"gaming PC" priority:high',
            files=(FileRef("console", "F-bsod-photo", "bsod-photo.jpg", "image/jpeg"),),
        )
        await s.command("boss", "watch 1001")
        await s.reply_in_thread("lao_wang", "warehouse", 1001,
                                "Which memory module does he have — black or white heatsink? Need it for the swap.")
        await s.reply_in_thread("xiaomei", "warehouse", 1001, "Black heatsink, 2×16 GB (customer sent a photo).")
        await s.command("lao_wang", "set 1001 tracking:SF1402238871")
        await s.command("lao_wang", "status 1001 waiting Replacement module shipped, waiting for the customer")
        clock.advance(days=2)
        await s.command("xiaomei", "status 1001 resolved Customer confirms: no blue screen after the swap")
        await s.command("xiaomei", "set 1001 return:YT7788123456")
        clock.advance(days=3)
        await s.reply_in_thread("a_jie", "warehouse", 1001,
                                "Faulty module back and retested: fails MemTest86 at 9 GB — defective.")
        await s.command("a_jie", "set 1001 rma:KST-RMA-55102")
        await s.command("lao_wang", "status 1001 closed Vendor RMA filed, case done")
        show = await runtime.submit(grammar.parse("show 1001", s.actor("boss")))
    finally:
        await runtime.stop()
    return "\n".join(s.log), chat.transcript(), render_plain.detail(show.ticket) if show.ticket else ""


def run_demo(database_url: str | None = None) -> str:
    """The whole demo as text (temporary SQLite unless a URL is given)."""
    with tempfile.TemporaryDirectory(prefix="afterdesk-demo-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'demo.db'}"
        actions, transcript, ticket = asyncio.run(play(url))
    rule = "═" * 72
    return "\n".join([
        rule, "Afterdesk demo — a PC shop's blue-screen case, from first report to closed", rule,
        "", "What people did (slash commands and thread replies):", actions,
        "", rule, "The channels, as a reader sees them:", rule, transcript,
        "", rule, "The ticket (/ticket show 1001):", rule, ticket, "",
    ])
