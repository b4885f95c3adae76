"""The card's buttons: Claim, Assign (user picker), Status (select). Results and errors are only-you.

The card itself changes through the outbox (chat.update + a notice in its thread), like any change.
"""
from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot.slack import answers, render, translate
from bot.slack.identity import team_of
from handlers.commands import Actor, Assign, ChangeStatus, ChatRef, Claim, Command
from handlers.sla.commands import Acknowledge

if TYPE_CHECKING:
    from bot.slack.adapter import SlackAdapter

log = logging.getLogger("afterdesk.slack")
_NUMBER = re.compile(rf"{render.CARD_BLOCK}:(\d+)$")


def register(a: SlackAdapter) -> None:
    async def card_action(args: AsyncArgs) -> None:
        await on_action(a, args)

    for action_id in (render.CLAIM, render.ASSIGN, render.STATUS, render.ACK):
        a.listen(functools.partial(a.app.action, action_id), card_action)


def ticket_number(action: Mapping[str, Any]) -> int | None:
    """The ticket a card element belongs to (from its block id, or the Claim button's value)."""
    m = _NUMBER.match(str(action.get("block_id") or ""))
    if m:
        return int(m.group(1))
    value = str(action.get("value") or "")
    return int(value) if value.isdigit() else None


def action_command(body: Mapping[str, Any], actor: Actor) -> Command | None:
    """A card element's payload → Claim / Assign / ChangeStatus (pure)."""
    action = (body.get("actions") or [{}])[0]
    number = ticket_number(action)
    if number is None:
        return None
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    source = ChatRef(translate.PLATFORM, channel, None, ts)
    kind = action.get("action_id")
    if kind == render.ACK:
        return Acknowledge(actor, number=number, source=source)
    if kind == render.CLAIM:
        return Claim(actor, number=number, source=source)
    if kind == render.ASSIGN and action.get("selected_user"):
        user = str(action["selected_user"])
        return Assign(actor, number=number, assignee=f"@{user}", source=source,
                      known_users=translate.vouched((user,), actor.workspace))
    if kind == render.STATUS and action.get("selected_option"):
        return ChangeStatus(actor, number=number, status=str(action["selected_option"]["value"]), source=source)
    return None


async def on_action(a: SlackAdapter, args: AsyncArgs) -> None:
    await args.ack()
    body = args.body
    user_id = body["user"]["id"]
    cmd = action_command(body, Actor(translate.PLATFORM, user_id, team_of(body)))
    if cmd is None:
        return
    reply = await a.run(cmd)
    if reply.duplicate:
        return
    message = render.reply_text(reply)
    if body.get("response_url"):
        await args.respond(text=message, response_type="ephemeral", replace_original=False)
    elif cmd.source is not None:
        await answers.ephemeral(a.client, cmd.source.chat_id, user_id, message)
