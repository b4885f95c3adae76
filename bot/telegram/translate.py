"""Telegram updates → core commands. Pure: no I/O, no state; raw payloads stop here.

Dedup keys make redelivery a no-op in the core: the update id, and chat + message id (a message can
come again under a new update id, e.g. after a webhook switch).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from telegram import CallbackQuery, Message, User

from handlers import grammar
from handlers.commands import (
    Actor, AddComment, ChangePriority, ChangeStatus, ChatRef, Claim, Command, CreateTicket, EditComment, FileRef,
)
from handlers.lifecycle import PRIORITIES, SETTABLE_STATUSES

PLATFORM = "telegram"
# The commands the bot answers; the menu registered with setMyCommands lists the first six.
COMMANDS = ("ticket", "new", "show", "mine", "cancel", "help", "start")


@dataclass(frozen=True)
class StartForm:
    """`/ticket` (or `/new`) alone: ask for the fields one by one."""


@dataclass(frozen=True)
class CancelForm:
    pass


@dataclass(frozen=True)
class Greet:
    """`/start` in a private chat: the user opened the bot (so it may DM them now)."""


@dataclass(frozen=True)
class ChatInfo:
    """`/start` in a group (what Telegram sends when the bot is added): say the chat's id, for the config."""


@dataclass(frozen=True)
class FormPress:
    """A button on a form question ("f:<owner>:<step>:<index>" or index "-" to skip)."""

    owner: str
    step: str
    choice: str


Action = Command | StartForm | CancelForm | Greet | ChatInfo


def actor_of(user: User) -> Actor:
    return Actor(PLATFORM, str(user.id), "", display_name=user.full_name, username=user.username or "")


def message_keys(update_id: int, message: Message) -> tuple[str, ...]:
    return (f"telegram:update:{update_id}", f"telegram:msg:{message.chat.id}:{message.message_id}")


def topic_of(message: Message) -> int | None:
    """The forum topic a message was posted in (None in ordinary chats and a forum's General topic)."""
    return message.message_thread_id if message.is_topic_message else None


def body_of(message: Message) -> str:
    return message.text or message.caption or ""


def split_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """('ticket', 'show 1001') for '/ticket@Bot show 1001'; None if not a command for this bot."""
    if not text.startswith("/"):
        return None
    parts = text.split(maxsplit=1)
    name, _, addressee = parts[0][1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    return name.lower(), parts[1].strip() if len(parts) > 1 else ""


def files_of(message: Message) -> tuple[FileRef, ...]:
    """Photos (largest size) and documents, by Telegram file_id."""
    files = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        files.append(FileRef(PLATFORM, largest.file_id, f"photo-{largest.file_unique_id}.jpg", "image/jpeg"))
    if message.document:
        doc = message.document
        files.append(FileRef(PLATFORM, doc.file_id, doc.file_name or "", doc.mime_type or ""))
    return tuple(files)


def command_for(name: str, rest: str, message: Message, update_id: int) -> Action | None:
    """A bot command (text or caption) → a core command or a form action; UsageError for bad input."""
    actor = actor_of(message.from_user) if message.from_user else None
    if actor is None:
        return None
    source = ChatRef(PLATFORM, str(message.chat.id), _str(topic_of(message)), str(message.message_id))
    keys = message_keys(update_id, message)
    if name in ("ticket", "new") and not rest:
        return StartForm()
    if name == "cancel":
        return CancelForm()
    if name == "start":
        return Greet() if message.chat.type == "private" else ChatInfo()
    text = {"ticket": rest, "new": f"new {rest}", "show": f"show {rest}", "mine": "mine", "help": "help"}.get(name)
    if text is None:
        return None
    cmd = grammar.parse(text, actor, source, keys)
    files = files_of(message)
    if files and isinstance(cmd, (CreateTicket, AddComment)):
        cmd = dataclasses.replace(cmd, attachments=cmd.attachments + files)
    return cmd


def comment_for(message: Message, update_id: int) -> AddComment | None:
    """A reply, or a message in a forum topic → a comment, if the thread is a ticket's (the adapter
    looks that up before it runs the command: the thread id is the replied-to message or the topic)."""
    if message.from_user is None or message.from_user.is_bot:
        return None
    topic = topic_of(message)
    replied = message.reply_to_message
    thread = topic if topic is not None else (replied.message_id if replied else None)
    if thread is None:
        return None
    files = files_of(message)
    body = body_of(message)
    if not body.strip() and not files:
        return None
    return AddComment(actor_of(message.from_user), body=body, attachments=files,
                      source=ChatRef(PLATFORM, str(message.chat.id), str(thread), str(message.message_id)),
                      dedup_keys=message_keys(update_id, message))


def edit_for(message: Message, update_id: int) -> EditComment | None:
    """An edited message → its comment gets the new text (sent only for a message that is a comment)."""
    if message.from_user is None or not body_of(message).strip():
        return None
    return EditComment(actor_of(message.from_user), body=body_of(message),
                       source=ChatRef(PLATFORM, str(message.chat.id), None, str(message.message_id)),
                       dedup_keys=(f"telegram:update:{update_id}",))


def callback_for(query: CallbackQuery, update_id: int) -> Command | FormPress | None:
    """Card buttons: "c:1001" claim, "s:1001:resolved" status, "p:1001:high" priority; "f:…" form."""
    parts = (query.data or "").split(":")
    if parts[0] == "f" and len(parts) == 4:
        return FormPress(parts[1], parts[2], parts[3])
    if len(parts) < 2 or not parts[1].isdigit() or query.message is None:
        return None
    number = int(parts[1])
    message = query.message
    env = {"source": ChatRef(PLATFORM, str(message.chat.id), None, str(message.message_id)),
           "dedup_keys": (f"telegram:update:{update_id}", f"telegram:callback:{query.id}")}
    actor = actor_of(query.from_user)
    if parts[0] == "c" and len(parts) == 2:
        return Claim(actor, number=number, **env)
    if parts[0] == "s" and len(parts) == 3 and parts[2] in SETTABLE_STATUSES:
        return ChangeStatus(actor, number=number, status=parts[2], **env)
    if parts[0] == "p" and len(parts) == 3 and parts[2] in PRIORITIES:
        return ChangePriority(actor, number=number, priority=parts[2], **env)
    return None


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)
