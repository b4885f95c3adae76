"""Outbox deliveries to Slack: cards (posted, then updated in place), thread notices and DMs.

The dispatcher owns pacing, ordering and retries, so this client has no retry handlers of its
own: a 429 becomes RetryLater with Slack's wait, network trouble and 5xx become TransientError, and
what retrying cannot fix becomes PermanentError (with hint="invite" when the bot is not in the
channel, so the person who acted is told to invite it).
"""
from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import Delivered, Delivery, PermanentError, RetryLater, TransientError
from bot.slack import render

log = logging.getLogger("afterdesk.slack")

# The bot cannot post where it is not (or no longer can be): invite it, or fix the config.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "restricted_action",
                            "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
                            "restricted_action_non_threadable_channel", "team_access_not_granted",
                            "ekm_access_denied"})
CARD_GONE = frozenset({"message_not_found", "cant_update_message"})
# Seconds added to the channel interval: how much sooner one request may reach Slack than another.
PACING_MARGIN = 0.015
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited"})


def retry_after(headers: Any) -> float:
    """Seconds to wait after a 429: the precise X-Retry-After-Ms when present, else Retry-After."""
    getter = getattr(headers, "get", None)
    if getter is None:
        return 1.0
    for name, scale in (("X-Retry-After-Ms", 1000.0), ("x-retry-after-ms", 1000.0),
                        ("Retry-After", 1.0), ("retry-after", 1.0)):
        value = getter(name)
        if value:
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value) / scale)
            except ValueError:
                continue
    return 1.0


def classify(exc: SlackApiError) -> Exception:
    """The dispatcher's view of a Slack API failure."""
    status = getattr(exc.response, "status_code", 200)
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get("error") or f"http_{status}")
    if status == 429:
        return RetryLater(retry_after(exc.response.headers))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return TransientError(f"slack {error} (HTTP {status})")
    if error in CHANNEL_ERRORS:
        return PermanentError(error, hint="invite")
    return PermanentError(error)


class SlackSender:
    """Implements bot.delivery.Sender for platform "slack"."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, min_interval: float = 1.0) -> None:
        self.client = client
        # The dispatcher paces from the start of each request; one that reaches Slack a little faster
        # than the one before would land inside the interval and earn a 429 (cheap, but counted).
        self.min_interval = min_interval + PACING_MARGIN if min_interval > 0 else 0.0
        self._dm_channels: dict[str, str] = {}

    async def deliver(self, item: Delivery) -> Delivered:
        try:
            if item.kind == "card":
                return await self._card(item)
            if item.kind == "notice":
                return await self._notice(item)
            if item.kind == "dm":
                return await self._dm(item)
            if item.kind == "post":
                return await self._top_level(item)
            if item.kind == "edit":
                return await self._edit(item)
        except SlackApiError as exc:
            raise classify(exc) from None
        except (aiohttp.ClientError, SlackClientError, OSError, TimeoutError) as exc:
            raise TransientError(f"slack unreachable: {type(exc).__name__}: {exc}") from None
        raise PermanentError(f"unknown delivery kind '{item.kind}'")

    async def _post(self, **kwargs: Any) -> Any:
        # Bot posts never expand links or @names: what users wrote stays inert.
        return await self.client.chat_postMessage(link_names=False, unfurl_links=False, unfurl_media=False,
                                                  **kwargs)

    async def _card(self, item: Delivery) -> Delivered:
        assert item.ticket is not None
        message = render.card_message(item.ticket)
        if item.card_message_id:
            try:
                resp = await self.client.chat_update(channel=item.chat_id, ts=item.card_message_id, **message)
                return Delivered(message_id=item.card_message_id, chat_id=resp.get("channel") or item.chat_id)
            except SlackApiError as exc:
                if exc.response.get("error") not in CARD_GONE:
                    raise
                # Someone deleted the card: post it anew; the thread now hangs under the new one.
                resp = await self._post(channel=item.chat_id, **message)
                return Delivered(message_id=resp["ts"], chat_id=resp.get("channel") or item.chat_id, replaced=True)
        resp = await self._post(channel=item.chat_id, **message)
        return Delivered(message_id=resp["ts"], chat_id=resp.get("channel") or item.chat_id)

    async def _notice(self, item: Delivery) -> Delivered:
        assert item.text is not None
        number = item.ticket.number if item.ticket else None
        text = render.notice_text(item.text, number)
        thread = {"thread_ts": item.card_message_id} if item.card_message_id else {}
        resp = await self._post(channel=item.chat_id, text=text, **thread)
        return Delivered(message_id=resp["ts"], chat_id=resp.get("channel") or item.chat_id)

    async def _top_level(self, item: Delivery) -> Delivered:
        """A message at the top of a channel (SLA alerts, digests), with an Ack button for breaches."""
        assert item.text is not None
        number = item.ticket.number if item.ticket else None
        resp = await self._post(channel=item.chat_id, **render.alert_message(item.text,
                                                                           render.notice_text(item.text, number)))
        return Delivered(message_id=resp["ts"], chat_id=resp.get("channel") or item.chat_id)

    async def _edit(self, item: Delivery) -> Delivered:
        """Rewrite an earlier message (a cleared alarm): plain text, its buttons removed."""
        assert item.text is not None and item.target_message_id
        await self.client.chat_update(channel=item.chat_id, ts=item.target_message_id,
                                      text=render.notice_text(item.text), blocks=[])
        return Delivered(message_id=item.target_message_id, chat_id=item.chat_id)

    async def _dm(self, item: Delivery) -> Delivered:
        assert item.text is not None
        channel = await self._dm_channel(item.user_id)
        number = item.ticket.number if item.ticket else None
        link = await self._card_link(item) if number else None
        resp = await self._post(channel=channel, **render.alert_message(
            item.text, render.dm_text(item.text, link, number)))
        # Kept so a DM alarm can be edited once its condition clears.
        return Delivered(message_id=resp["ts"], chat_id=resp.get("channel") or channel)

    async def _dm_channel(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            resp = await self.client.conversations_open(users=user_id)
            self._dm_channels[user_id] = resp["channel"]["id"]
        return self._dm_channels[user_id]

    async def _card_link(self, item: Delivery) -> str | None:
        """A permalink to the ticket's card; a DM without the link is still worth sending."""
        if not (item.card_chat_id and item.card_message_id):
            return None
        try:
            resp = await self.client.chat_getPermalink(channel=item.card_chat_id, message_ts=item.card_message_id)
            return str(resp["permalink"])
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise
            log.warning("slack: no permalink for %s (%s)", item.card_message_id, exc.response.get("error"))
            return None
