"""The console platform: an in-process chat (channels, threads, DMs) for the demo and tests."""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot import render_plain
from bot.delivery import Delivered, Delivery, PermanentError


@dataclass
class ConsoleMessage:
    id: str
    chat: str
    author: str
    text: str
    thread: str | None = None
    edits: int = 0
    replies: list[ConsoleMessage] = field(default_factory=list)


class ConsoleChat:
    """Keeps what a reader of each channel would see: messages, threads under them, DMs."""

    def __init__(self, known_chats: set[str] | None = None, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.known_chats = known_chats
        self.chats: dict[str, list[ConsoleMessage]] = {}
        self.by_id: dict[str, ConsoleMessage] = {}

    def post(self, chat: str, author: str, text: str, thread: str | None = None) -> ConsoleMessage:
        with self._lock:
            msg = ConsoleMessage(id=f"m{next(self._ids)}", chat=chat, author=author, text=text, thread=thread)
            self.by_id[msg.id] = msg
            if thread and thread in self.by_id:
                self.by_id[thread].replies.append(msg)
            else:
                self.chats.setdefault(chat, []).append(msg)
        if self.echo:
            where = f"#{chat}" + (" (thread)" if thread else "")
            self.echo(f"[{where}] {author}: {text}")
        return msg

    def edit(self, message_id: str, text: str) -> None:
        with self._lock:
            msg = self.by_id[message_id]
            if msg.text != text:
                msg.text, msg.edits = text, msg.edits + 1

    def dm(self, user: str, text: str) -> ConsoleMessage:
        """A direct message: kept as a chat named '@user' so it can be edited like any other."""
        return self.post(f"@{user}", "Afterdesk", text)

    def dm_texts(self, user: str) -> list[str]:
        return [m.text for m in self.chats.get(f"@{user}", [])]

    def transcript(self) -> str:
        """Each channel as a reader scrolls it: messages, and each thread indented beneath."""
        out: list[str] = []
        for chat, messages in sorted(self.chats.items(), key=lambda kv: kv[0].startswith("@")):
            out.append(f"━━ DM to {chat[1:]} ━━" if chat.startswith("@") else f"━━ #{chat} ━━")
            for m in messages:
                edited = " (edited)" if m.edits else ""
                out.append(_indent(f"{m.author}{edited}: {m.text}", "", "  "))
                for r in m.replies:
                    out.append(_indent(f"↳ {r.author}: {r.text}", "    ", "      "))
        return "\n".join(out)


def _indent(text: str, first: str, rest: str) -> str:
    lines = text.splitlines() or [""]
    return "\n".join([first + lines[0]] + [rest + line for line in lines[1:]])


class ConsoleSender:
    platform = "console"

    def __init__(self, chat: ConsoleChat, min_interval: float = 0.0, bot_name: str = "Afterdesk") -> None:
        self.chat = chat
        self.min_interval = min_interval
        self.bot_name = bot_name

    async def deliver(self, item: Delivery) -> Delivered:
        assert item.kind == "card" or item.text is not None
        if item.kind == "dm":
            msg = self.chat.dm(item.user_id, render_plain.render_text(item.text))  # type: ignore[arg-type]
            return Delivered(message_id=msg.id, chat_id=msg.chat)
        if item.kind == "edit":
            self.chat.edit(item.target_message_id or "", render_plain.render_text(item.text))  # type: ignore[arg-type]
            return Delivered(message_id=item.target_message_id, chat_id=item.chat_id)
        if self.chat.known_chats is not None and item.chat_id not in self.chat.known_chats:
            raise PermanentError("channel_not_found", hint="invite")
        if item.kind == "card":
            assert item.ticket is not None
            body = render_plain.card(item.ticket)
            if item.card_message_id:
                self.chat.edit(item.card_message_id, body)
                return Delivered(message_id=item.card_message_id)
            return Delivered(message_id=self.chat.post(item.chat_id, self.bot_name, body).id)
        thread = item.card_message_id if item.kind == "notice" else None
        msg = self.chat.post(item.chat_id, self.bot_name, render_plain.render_text(item.text), thread)  # type: ignore[arg-type]
        return Delivered(message_id=msg.id, chat_id=item.chat_id)
