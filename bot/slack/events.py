"""Events: replies in a card's thread become comments (edits and deletions follow); :ticket: files one."""
from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack import answers, render, translate
from bot.slack.identity import team_of
from handlers.commands import Actor

if TYPE_CHECKING:
    from bot.slack.adapter import Kept, SlackAdapter

log = logging.getLogger("afterdesk.slack")
_ERRORS = (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


def register(a: SlackAdapter) -> None:
    async def message_event(args: AsyncArgs) -> None:
        await on_message(a, args)

    async def reaction_added(args: AsyncArgs) -> None:
        await on_reaction(a, args)

    async def keep_message(args: AsyncArgs) -> Kept | None:
        return await message_kept(a, args)

    async def keep_reaction(args: AsyncArgs) -> Kept | None:
        return await reaction_kept(a, args)

    a.listen(functools.partial(a.app.event, "message"), message_event, keep=keep_message)
    a.listen(functools.partial(a.app.event, "reaction_added"), reaction_added, keep=keep_reaction)


def _bot_user(a: SlackAdapter, args: AsyncArgs) -> str | None:
    return a.bot_user_id or getattr(args.context, "bot_user_id", None)


async def message_kept(a: SlackAdapter, args: AsyncArgs) -> Kept | None:
    """Before the ack: a thread reply as an AddComment command, kept (None: not a reply under a card)."""
    body = args.body
    event, event_id, team = body.get("event") or {}, body.get("event_id", ""), team_of(body)
    bot = _bot_user(a, args)
    # First a cheap look: most channel messages are not replies in a ticket's thread.
    probe = translate.message_command(event, event_id, team, bot)
    if probe is None or probe.source is None or not probe.source.thread_id:
        return None
    if not await a.cards.is_ticket_thread(probe.source.chat_id, probe.source.thread_id):
        return None  # a conversation that is not a ticket's: nothing to record, no one to register
    inner = event.get("message") if event.get("subtype") == "message_changed" else event
    names = await a.people.names(translate.mentioned_users((inner or {}).get("text") or ""))
    if event.get("files"):
        event = {**event, "files": await complete_files(a, event["files"])}
    cmd = translate.message_command(event, event_id, team, bot, names)
    assert cmd is not None
    return cmd, await a.accept(cmd)


async def on_message(a: SlackAdapter, args: AsyncArgs) -> None:
    """A thread reply → one comment, however often Slack delivers it (event id and channel+ts keys)."""
    done = await a.finish_kept(args)
    if done is None:
        return
    cmd, reply = done
    if not reply.ok and not reply.duplicate and cmd.source is not None:
        await answers.ephemeral(a.client, cmd.source.chat_id, cmd.actor.user_id, render.reply_text(reply),
                                cmd.source.thread_id)


async def reaction_kept(a: SlackAdapter, args: AsyncArgs) -> Kept | None:
    """Before the ack: `:ticket:` on a message as a CreateTicket command, kept (once per message)."""
    event = args.body.get("event") or {}
    if not a.config.reaction_creates_ticket or not translate.reaction_matches(event, a.config.reaction_name):
        return None
    team = team_of(args.body)
    channel, ts = event["item"].get("channel", ""), event["item"]["ts"]
    message = await fetch_message(a, channel, ts)
    if message is None or translate.is_bot(message, _bot_user(a, args)):
        return None
    if message.get("files"):
        message = {**message, "files": await complete_files(a, message["files"])}
    names = await a.people.names(translate.mentioned_users(message.get("text") or ""))
    link = await answers.permalink(a.client, channel, ts)
    actor = Actor(translate.PLATFORM, event["user"], team)
    keys = (translate.event_key(args.body.get("event_id", "")), f"slack:ticket-from:{channel}:{ts}")
    cmd = translate.ticket_from_message(message, channel, actor, link, keys, names)
    return cmd, await a.accept(cmd)


async def on_reaction(a: SlackAdapter, args: AsyncArgs) -> None:
    """The ticket filed from a reacted-to message is confirmed in that message's thread."""
    done = await a.finish_kept(args)
    if done is None:
        return
    cmd, reply = done
    if reply.duplicate or cmd.source is None:
        return
    channel, thread = cmd.source.chat_id, cmd.source.thread_id or cmd.source.message_id
    if reply.ok:
        await answers.reply_in_thread(a.client, channel, thread, render.reply_text(reply))
    else:
        await answers.ephemeral(a.client, channel, cmd.actor.user_id, render.reply_text(reply))


async def fetch_message(a: SlackAdapter, channel: str, ts: str) -> dict[str, Any] | None:
    """The reacted-to message: top level via history, a thread reply via replies."""
    try:
        resp = await a.client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
        found = next((m for m in resp.get("messages") or () if m.get("ts") == ts), None)
        if found is None:
            resp = await a.client.conversations_replies(channel=channel, ts=ts, latest=ts, oldest=ts,
                                                        inclusive=True, limit=10)
            found = next((m for m in resp.get("messages") or () if m.get("ts") == ts), None)
    except _ERRORS as exc:
        log.warning("slack: cannot read message %s in %s (%s) — is the bot in that channel?", ts, channel, exc)
        return None
    return dict(found) if found else None


async def complete_files(a: SlackAdapter, files: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Slack may send only a file's id (file_access: check_file_info): ask files.info for its name."""
    out: list[Mapping[str, Any]] = []
    for f in files:
        if f.get("id") and (f.get("file_access") == "check_file_info" or not f.get("name")):
            try:
                f = (await a.client.files_info(file=f["id"]))["file"]
            except _ERRORS as exc:
                log.warning("slack: files.info %s failed (%s); keeping the id only", f.get("id"), exc)
        out.append(f)
    return out
