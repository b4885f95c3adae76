"""`/ticket`, the "Create ticket" message shortcut, and the modal form they open."""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError

from bot.slack import answers, forms, render, translate
from bot.slack.identity import team_of
from handlers.commands import Actor, Command
from handlers.replies import Reply, UsageError, text

if TYPE_CHECKING:
    from bot.slack.adapter import SlackAdapter

log = logging.getLogger("afterdesk.slack")

COMMAND = "/ticket"
SHORTCUT = "create_ticket_from_message"
# What a modal submission may spend before answering (Slack closes the door at 3 s).
FORM_BUDGET = 2.0
# What keeping a /ticket request may add to its acknowledgement.
KEEP_BUDGET = 0.25


def register(a: SlackAdapter) -> None:
    async def slash_command(args: AsyncArgs) -> Awaitable[None] | None:
        return await on_slash(a, args)

    async def message_shortcut(args: AsyncArgs) -> None:
        await on_shortcut(a, args)

    async def form_submitted(args: AsyncArgs) -> None:
        await on_submit(a, args)

    a.listen(functools.partial(a.app.command, COMMAND), slash_command)
    a.listen(functools.partial(a.app.message_shortcut, SHORTCUT), message_shortcut)
    a.listen(functools.partial(a.app.view_submission, forms.CALLBACK), form_submitted)


async def on_slash(a: SlackAdapter, args: AsyncArgs) -> Awaitable[None] | None:
    """Grammar errors are the ack itself (instant, nothing written); real work runs after the ack (returned,
    for the adapter to run once this listener and its request are done)."""
    body = args.body
    team, user_id, channel = team_of(body), body["user_id"], body.get("channel_id", "")
    raw = body.get("text") or ""
    if translate.wants_form(raw):
        await args.ack()
        await open_form(a, body["trigger_id"], {}, {"r": body.get("response_url")}, user_id)
        return
    try:
        cmd = translate.slash_command(raw, Actor(translate.PLATFORM, user_id, team), channel)
    except UsageError as err:
        await args.ack(text=render.mrkdwn(err.text), response_type="ephemeral")
        return
    # Kept before Slack hears "got it", so a crash replays it instead of losing it — unless the database is
    # too busy to keep it in time: then Slack hears first (it gives up at 3 s) and the keeping goes on.
    keeping = asyncio.ensure_future(a.accept(cmd))
    done, _ = await asyncio.wait({keeping}, timeout=KEEP_BUDGET)
    if done and keeping.result() is None:
        await args.ack(text=render.mrkdwn(text("err_internal")), response_type="ephemeral")
        return
    await args.ack()
    return _answer(a, cmd, keeping, user_id, body.get("response_url"))


async def _answer(a: SlackAdapter, cmd: Command, keeping: asyncio.Future[asyncio.Future[Reply] | None],
                  user_id: str, response_url: str | None) -> None:
    """After the ack: wait for the core, then tell the person (holding only what that needs, not Bolt's request)."""
    reply = await a.finish(cmd, await keeping)
    await answers.tell(a.client, user_id, render.reply_text(reply), response_url,
                       response_type="ephemeral" if reply.ephemeral else "in_channel")


async def open_form(a: SlackAdapter, trigger_id: str, prefill: Mapping[str, str], meta: Mapping[str, Any],
                    user_id: str) -> None:
    try:
        await a.client.views_open(trigger_id=trigger_id, view=forms.ticket_form(a.runtime.config, prefill, meta))
    except SlackApiError as exc:
        log.error("slack: views.open failed (%s); the form could not be shown", exc.response.get("error"))
        await answers.tell(a.client, user_id, render.mrkdwn(text("err_internal")), meta.get("r"))


async def on_shortcut(a: SlackAdapter, args: AsyncArgs) -> None:
    """Open the form pre-filled from the message, linking it (and its files) to the ticket to be."""
    await args.ack()
    body = args.body
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id", "")
    prefill = translate.prefill_from_message(message.get("text") or "")
    link = await answers.permalink(a.client, channel, message.get("ts"))
    if link:
        prefill["description"] = f"{prefill.get('description', '')}\n\n{link}".strip()
    files = [[f.file_id, f.name, f.mime_type] for f in translate.files_of(message)]
    meta = {"r": body.get("response_url"), "files": files,
            "source": {"channel": channel, "ts": message.get("ts"), "thread_ts": message.get("thread_ts")}}
    await open_form(a, body["trigger_id"], prefill, meta, body["user"]["id"])


async def on_submit(a: SlackAdapter, args: AsyncArgs) -> None:
    """Field errors go back in the ack; a valid form becomes a ticket, confirmed where it came from."""
    body = args.body
    view, user_id = body["view"], body["user"]["id"]
    values = forms.read_values((view.get("state") or {}).get("values") or {})
    errors = forms.check(values)
    if errors:
        await args.ack(response_action="errors", errors=errors)
        return
    meta = forms.unpack_meta(view.get("private_metadata") or "")
    work = asyncio.ensure_future(_create(a, values, user_id, team_of(body), meta, view.get("id", "")))
    done, _ = await asyncio.wait({work}, timeout=FORM_BUDGET)
    if not done:
        # Slow database: close the form now and confirm when the ticket exists.
        await args.ack()
        await confirm(a, await work, meta, user_id)
        return
    reply = work.result()
    if not reply.ok and (field_errors := forms.errors_for(reply)):
        await args.ack(response_action="errors", errors=field_errors)
        return
    await args.ack()
    await confirm(a, reply, meta, user_id)


async def _create(a: SlackAdapter, values: Mapping[str, str], user_id: str, team: str, meta: Mapping[str, Any],
                  view_id: str) -> Reply:
    return await a.run(forms.to_command(values, Actor(translate.PLATFORM, user_id, team), meta, view_id))


async def confirm(a: SlackAdapter, reply: Reply, meta: Mapping[str, Any], user_id: str) -> None:
    """Created from a message: answer in its thread; from /ticket: only to the person."""
    if reply.duplicate:
        return
    body = render.reply_text(reply)
    source = meta.get("source") or {}
    if reply.ok and source.get("channel") and source.get("ts"):
        thread = source.get("thread_ts") or source["ts"]
        if await answers.reply_in_thread(a.client, source["channel"], thread, body):
            return
    await answers.tell(a.client, user_id, body, meta.get("r"))
