"""Immediate answers outside the outbox: ephemeral replies, thread confirmations, permalinks.

These answer the person who just acted (like a command's reply), so they go straight to Slack; a
failure here loses a confirmation, never a ticket change.
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger("afterdesk.slack")

QUICK = 1.0  # seconds for a lookup made while Slack waits for us (trigger ids expire in 3 s)
_ERRORS = (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


def webhook(client: AsyncWebClient, response_url: str) -> AsyncWebhookClient:
    # On the Web API client's kept-alive connections: a fresh TCP connection per answer cost a fifth
    # of the event loop under load.
    return AsyncWebhookClient(response_url, session=client.session)


async def tell(client: AsyncWebClient, user_id: str, text: str, response_url: str | None = None,
               response_type: str = "ephemeral") -> None:
    """The answer to a command via its response_url when there is one (only-you unless `response_type`
    says "in_channel"), else a DM."""
    if response_url:
        try:
            resp = await webhook(client, response_url).send(text=text, response_type=response_type,
                                                             unfurl_links=False)
            if resp.status_code == 200:
                return
            log.warning("slack: response_url answered %s; sending a DM instead", resp.status_code)
        except _ERRORS as exc:
            log.warning("slack: response_url failed (%s); sending a DM instead", exc)
    try:
        channel = (await client.conversations_open(users=user_id))["channel"]["id"]
        await client.chat_postMessage(channel=channel, text=text, link_names=False, unfurl_links=False)
    except _ERRORS as exc:
        log.warning("slack: could not tell %s: %s", user_id, exc)


async def reply_in_thread(client: AsyncWebClient, channel: str, ts: str, text: str) -> bool:
    """A visible reply under a message (e.g. "Created #1001 …" under the message it came from)."""
    try:
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=text, link_names=False,
                                      unfurl_links=False, unfurl_media=False)
        return True
    except _ERRORS as exc:
        log.warning("slack: could not reply in %s's thread %s: %s", channel, ts, exc)
        return False


async def permalink(client: AsyncWebClient, channel: str, ts: str | None) -> str:
    """A link to a message, or "" if Slack does not give one quickly."""
    if not channel or not ts:
        return ""
    try:
        resp = await asyncio.wait_for(client.chat_getPermalink(channel=channel, message_ts=ts), QUICK)
        return str(resp.get("permalink") or "")
    except _ERRORS as exc:
        log.warning("slack: no permalink for %s/%s: %s", channel, ts, exc)
        return ""


async def ephemeral(client: AsyncWebClient, channel: str, user_id: str, text: str, thread_ts: str | None = None
                    ) -> None:
    """An only-you message in a channel (or thread); falls back to a DM where that is not possible."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user_id, text=text,
                                        **({"thread_ts": thread_ts} if thread_ts else {}))
    except _ERRORS as exc:
        log.warning("slack: ephemeral to %s in %s failed (%s); sending a DM", user_id, channel, exc)
        await tell(client, user_id, text)
