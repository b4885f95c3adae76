"""Slack payloads → core commands. Pure functions: no I/O, no SDK, no clock.

Slack sends text in its wire format: `&`, `<`, `>` as entities and mentions as `<@U123|name>`.
`plain_text` turns that back into what the person typed, with mentions as `@U123` (resolvable by the
core because every mentioned id is also passed as a vouched-for `known_users` Actor) or `@Name`.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from handlers import grammar
from handlers.commands import (
    Actor,
    AddComment,
    ChatRef,
    Command,
    CreateTicket,
    DeleteComment,
    EditComment,
    FileRef,
)

PLATFORM = "slack"
TITLE_LIMIT = 150

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([^>|]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<([^@#!>][^>|]*)(?:\|([^>]*))?>")
# Messages people write (thread replies); everything else (joins, bot posts, …) is not a comment.
COMMENT_SUBTYPES = (None, "file_share", "thread_broadcast", "me_message")


def unescape(text: str) -> str:
    """Slack's three entities back to characters (`&amp;` last, so `&amp;lt;` stays `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentioned_users(text: str) -> tuple[str, ...]:
    """User ids mentioned as `<@U…>`, in order, without repeats."""
    return tuple(dict.fromkeys(m.group(1) for m in _USER.finditer(text or "")))


def plain_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Wire format → typed text: `<@U1>` → `@U1` (or `@Name` when `names` knows U1), links → URLs."""

    def user(m: re.Match[str]) -> str:
        uid = m.group(1)
        return "@" + (names[uid] if names and uid in names else uid)

    def special(m: re.Match[str]) -> str:
        word, label = m.group(1), m.group(2)
        if word in ("here", "channel", "everyone"):
            return "@" + word
        return label or ("@" + word.split("^", 1)[-1] if word.startswith("subteam^") else word)

    def link(m: re.Match[str]) -> str:
        url, label = m.group(1), m.group(2)
        return url if not label or label == url or url.endswith(label) else f"{label} ({url})"

    text = _USER.sub(user, text or "")
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(special, text)
    text = _LINK.sub(link, text)
    return unescape(text)


def vouched(user_ids: tuple[str, ...], team: str) -> tuple[Actor, ...]:
    """Actors for ids Slack itself put in the payload (mentions, user pickers)."""
    return tuple(Actor(PLATFORM, uid, team) for uid in user_ids)


def event_key(event_id: str) -> str:
    return f"slack:event:{event_id}"


def message_key(channel: str, ts: str) -> str:
    return f"slack:msg:{channel}:{ts}"


def files_of(message: Mapping[str, Any]) -> tuple[FileRef, ...]:
    """Slack file references of a message (we keep the reference, never the bytes)."""
    return tuple(FileRef(PLATFORM, f["id"], f.get("name") or f.get("title") or "", f.get("mimetype") or "")
                 for f in message.get("files") or () if f.get("id"))


def is_bot(message: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """Our own posts and other bots' are never comments."""
    return bool(message.get("bot_id") or message.get("subtype") == "bot_message"
                or not message.get("user") or (bot_user_id and message.get("user") == bot_user_id))


def message_command(event: Mapping[str, Any], event_id: str, team: str, bot_user_id: str | None,
                    names: Mapping[str, str] | None = None) -> Command | None:
    """A channel `message` event → AddComment / EditComment / DeleteComment for a thread reply, or None."""
    channel = event.get("channel") or ""
    subtype = event.get("subtype")
    keys = (event_key(event_id),) if event_id else ()
    if subtype == "message_changed":
        msg = event.get("message") or {}
        thread = msg.get("thread_ts")
        if is_bot(msg, bot_user_id) or not thread or thread == msg.get("ts"):
            return None
        edited = (msg.get("edited") or {}).get("ts") or event.get("ts", "")
        return EditComment(Actor(PLATFORM, msg["user"], team), body=plain_text(msg.get("text", ""), names),
                           source=ChatRef(PLATFORM, channel, thread, msg["ts"]),
                           dedup_keys=keys + (f"slack:edit:{channel}:{msg['ts']}:{edited}",))
    if subtype == "message_deleted":
        prev = event.get("previous_message") or {}
        deleted = event.get("deleted_ts") or prev.get("ts")
        thread = prev.get("thread_ts")
        if is_bot(prev, bot_user_id) or not deleted or not thread or thread == deleted:
            return None
        return DeleteComment(Actor(PLATFORM, prev["user"], team), source=ChatRef(PLATFORM, channel, thread, deleted),
                             dedup_keys=keys + (f"slack:delete:{channel}:{deleted}",))
    if subtype not in COMMENT_SUBTYPES or is_bot(event, bot_user_id):
        return None
    ts, thread = event.get("ts"), event.get("thread_ts")
    if not ts or not thread or thread == ts:
        return None  # top-level messages are conversation, not comments
    text = event.get("text") or ""
    if not text.strip() and not event.get("files"):
        return None  # e.g. an attachment-only post: nothing a person said
    return AddComment(Actor(PLATFORM, event["user"], team), body=plain_text(text, names),
                      attachments=files_of(event), source=ChatRef(PLATFORM, channel, thread, ts),
                      dedup_keys=keys + (message_key(channel, ts),),
                      known_users=vouched(mentioned_users(text), team))


def slash_command(text: str, actor: Actor, channel: str) -> Command:
    """What follows `/ticket` → a command (raises UsageError with the specific sentence)."""
    cmd = grammar.parse(plain_text(text), actor, source=ChatRef(PLATFORM, channel))
    return dataclasses.replace(cmd, known_users=vouched(mentioned_users(text), actor.workspace))


def wants_form(text: str) -> bool:
    """`/ticket` alone or `/ticket new` opens the modal form."""
    return plain_text(text).strip().lower() in ("", "new")


def title_and_description(text: str, files: tuple[FileRef, ...] = ()) -> tuple[str, str]:
    """A title from a message's first line (cut at a word), and the whole text as the description."""
    body = text.strip()
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    if not first and files:
        first = "📎 " + ", ".join(f.name or f.file_id for f in files)
    if len(first) > TITLE_LIMIT:
        first = first[: TITLE_LIMIT - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return first, body


def ticket_from_message(message: Mapping[str, Any], channel: str, actor: Actor, permalink: str = "",
                        dedup_keys: tuple[str, ...] = (), names: Mapping[str, str] | None = None) -> CreateTicket:
    """A message (e.g. reacted to with :ticket:) → a new ticket that links back to it."""
    text = plain_text(message.get("text") or "", names)
    files = files_of(message)
    title, description = title_and_description(text, files)
    if permalink:
        description = f"{description}\n\n{permalink}".strip()
    ts = message.get("ts")
    return CreateTicket(actor, title=title, description=description, attachments=files,
                        source=ChatRef(PLATFORM, channel, message.get("thread_ts"), ts), dedup_keys=dedup_keys,
                        known_users=vouched(mentioned_users(message.get("text") or ""), actor.workspace))


def prefill_from_message(text: str) -> dict[str, str]:
    """Form values from a message: grammar fields when it has some (order:… customer:…), else the text."""
    plain = plain_text(text)
    title, description = title_and_description(plain)
    values = {"title": title, "description": description}
    try:
        cmd = grammar.parse(plain, Actor(PLATFORM, "prefill"))
    except Exception:  # any UsageError: the message is just prose
        return values
    if isinstance(cmd, CreateTicket):
        for name in ("order_no", "customer_name", "customer_handle", "shipping_address", "category", "product",
                     "priority"):
            if getattr(cmd, name):
                values[name] = getattr(cmd, name)
    return values


def reaction_matches(event: Mapping[str, Any], name: str) -> bool:
    """A :ticket: reaction on a message (skin-tone variants count)."""
    item = event.get("item") or {}
    reaction = str(event.get("reaction") or "").split("::", 1)[0]
    return item.get("type") == "message" and reaction == name.strip(":") and bool(item.get("ts"))
