"""Delivers outbox items to Telegram (cards, notices, posts, DMs, edits) and maps Bot API errors to
what the dispatcher understands: RetryLater, TransientError, PermanentError.

A card someone deleted is posted anew (`Delivered.replaced`), so it is not parked on every refresh."""
from __future__ import annotations

import asyncio
import logging
import time
import warnings
from datetime import timedelta
from typing import Any

from telegram import Bot, ForceReply, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.delivery import Delivered, Delivery, PermanentError, RetryLater, TransientError
from bot.outbox import INLINE_WAIT_MAX
from bot.telegram import render
from bot.telegram.pacing import Pacer
from bot.telegram.wording import compose, say

log = logging.getLogger("afterdesk.telegram")

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
FORUM_CACHE_SECONDS = 300.0
READY_TIMEOUT = 10.0
# What editMessageText answers when the card is no longer there to edit: post it anew.
CARD_GONE = ("message to edit not found", "message can't be edited")


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about int vs timedelta; both mean seconds
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def not_modified(exc: BadRequest) -> bool:
    return "message is not modified" in exc.message.lower()


def card_gone(exc: BadRequest) -> bool:
    """The card was deleted (or is otherwise beyond editing): a refresh must post it again."""
    return any(reason in exc.message.lower() for reason in CARD_GONE)


class TelegramSender:
    """The outbox's Telegram sender; also sends the adapter's immediate answers, through the same pacer."""

    platform = "telegram"

    def __init__(self, bot: Bot, pacer: Pacer, min_interval: float, *, use_topics: bool = True,
                 time_scale: float = 1.0, fallback_chats: dict[str, str] | None = None) -> None:
        self.bot = bot
        self.pacer = pacer
        self.min_interval = min_interval
        self.use_topics = use_topics
        self.time_scale = time_scale
        # group key → Telegram chat: where to mention someone we cannot DM when the ticket has no card here
        self.fallback_chats = fallback_chats or {}
        self.ready = asyncio.Event()
        self.closed = False
        self._forums: dict[str, tuple[float, bool]] = {}
        # Topics created for a card not yet posted: a retried post reuses its topic.
        self._topics: dict[tuple[str, int], int] = {}
        # DM rows whose user cannot be messaged privately: a retry goes straight to the mention.
        self._no_dm: dict[int, str] = {}

    # ------------------------------------------------------------------ the outbox

    async def deliver(self, item: Delivery) -> Delivered:
        """Send one outbox item; raise RetryLater, TransientError or PermanentError on failure."""
        if self.closed:
            # Shutting down: hand the row back at once (a wait longer than the dispatcher sleeps
            # in place reschedules it without counting an attempt), instead of retrying here.
            raise RetryLater(INLINE_WAIT_MAX + 1)
        try:
            await asyncio.wait_for(self.ready.wait(), READY_TIMEOUT)
        except TimeoutError:
            raise TransientError("the Telegram adapter has not started yet") from None
        try:
            return await self._deliver(item)
        except RetryAfter as exc:
            raise RetryLater(retry_seconds(exc) * self.time_scale) from None
        except ChatMigrated as exc:
            raise PermanentError(f"the group became a supergroup with id {exc.new_chat_id}: put that id in "
                                 f"the group's channels.telegram", hint="") from None
        except Forbidden as exc:
            raise PermanentError(exc.message, hint="invite") from None
        except BadRequest as exc:
            hint = "invite" if "chat not found" in exc.message.lower() else ""
            raise PermanentError(f"Telegram refused it: {exc.message}", hint=hint) from None
        except TelegramError as exc:  # NetworkError, TimedOut, Conflict, a bad gateway…
            raise TransientError(f"{type(exc).__name__}: {exc.message}") from None

    async def _deliver(self, item: Delivery) -> Delivered:
        number = item.ticket.number if item.ticket else None
        if item.kind == "card":
            return await self._card(item)
        if item.text is None:
            raise PermanentError(f"a {item.kind} without text: nothing to send")
        if item.kind == "dm":
            return await self._dm(item)
        text = render.text_html(item.text, number)
        if item.kind == "edit":
            await self._edit(item.chat_id, item.target_message_id or "", text, None)
            return Delivered(message_id=item.target_message_id, chat_id=item.chat_id)
        if item.kind == "notice":
            msg = await self._send(item.chat_id, text, reply_to=item.card_message_id, thread=item.topic_id)
        else:  # "post": top level of the chat
            msg = await self._send(item.chat_id, text)
        return Delivered(message_id=str(msg.message_id), chat_id=item.chat_id)

    async def _card(self, item: Delivery) -> Delivered:
        view = item.ticket
        if view is None:
            raise PermanentError("the ticket of this card no longer exists")
        text, markup = render.card_html(view), render.keyboard(view)
        if not item.card_message_id:
            msg, topic = await self._post_card(item, text, markup)
            return Delivered(message_id=str(msg.message_id), chat_id=item.chat_id, topic_id=topic)
        try:
            await self._edit(item.chat_id, item.card_message_id, text, markup)
            return Delivered(message_id=item.card_message_id, chat_id=item.chat_id, topic_id=item.topic_id)
        except BadRequest as exc:
            if not card_gone(exc):
                raise
            log.warning("telegram: the card of #%s in chat %s is gone (%s); posting it anew",
                        view.number, item.chat_id, exc.message)
        msg, topic = await self._post_card(item, text, markup, topic=item.topic_id)
        # The new card takes the old one's place: later refreshes edit it, notices reply to it.
        return Delivered(message_id=str(msg.message_id), chat_id=item.chat_id, topic_id=topic, replaced=True)

    async def _post_card(self, item: Delivery, text: str, markup: InlineKeyboardMarkup,
                         topic: str | None = None) -> tuple[Message, str | None]:
        """Post a card: in its own forum topic where possible (the old one, when it is posted again)."""
        view = item.ticket
        assert view is not None
        if topic is not None:
            try:
                return await self._send(item.chat_id, text, markup=markup, thread=topic), topic
            except BadRequest as exc:
                if "thread not found" not in exc.message.lower():
                    raise
                log.info("telegram: the topic of #%s in chat %s is gone too; opening a new one",
                         view.number, item.chat_id)
        made = await self._topic_for(item.chat_id, view.number, f"{view.ref} {view.title}")
        topic = str(made) if made else None
        msg = await self._send(item.chat_id, text, markup=markup, thread=topic)
        self._topics.pop((item.chat_id, view.number), None)
        return msg, topic

    async def _dm(self, item: Delivery) -> Delivered:
        assert item.text is not None
        reason = self._no_dm.get(item.row_id)
        if reason is None:  # (a retry of the same row goes straight to the mention)
            number = item.ticket.number if item.ticket else None
            try:
                msg = await self._send(item.user_id, render.text_html(item.text, number))
                return Delivered(message_id=str(msg.message_id), chat_id=item.user_id)
            except Forbidden as exc:  # never started the bot, or blocked it
                reason = exc.message
            except BadRequest as exc:
                if "chat not found" not in exc.message.lower():  # a user unknown to the bot
                    raise
                reason = exc.message
            self._no_dm[item.row_id] = reason
        try:
            return await self._mention_instead(item, reason)
        except RetryAfter:
            raise  # try the mention again soon
        except Exception:
            self._no_dm.pop(item.row_id, None)
            raise

    async def _mention_instead(self, item: Delivery, reason: str) -> Delivered:
        """No private message possible: mention the person under the ticket's card (the dispatcher
        hands a DM over only once that card is posted), or else in the ticket's group chat."""
        view = item.ticket
        if item.card_chat_id:
            chat, reply_to, topic = item.card_chat_id, item.card_message_id, item.topic_id
        else:  # the ticket has no card on Telegram (e.g. it could not be posted)
            chat, reply_to, topic = (self.fallback_chats.get(view.group, "") if view else ""), None, None
        if not chat:
            raise PermanentError(f"cannot DM user {item.user_id}: {reason}", hint="")
        people = [p for p in (view.assignee, view.reporter) if p] if view else []
        name = next((p.name for p in people if p.ids.get("telegram") == item.user_id), "") or "👤"
        body = compose("tg_dm_fallback", {"mention": render.mention(name, item.user_id),
                                          "message": render.text_html(item.text, view.number if view else None, 3500)})
        body += "\n" + say("tg_dm_fallback_hint", {"bot": self.bot.username})
        try:
            msg = await self._send(chat, body, reply_to=reply_to, thread=topic)
        except (Forbidden, BadRequest) as exc:
            raise PermanentError(f"cannot DM user {item.user_id} ({reason}) nor mention them in {chat} "
                                 f"({exc.message})", hint="") from None
        self._no_dm.pop(item.row_id, None)
        log.warning("telegram: cannot DM user %s (%s); mentioned them in chat %s instead", item.user_id, reason, chat)
        return Delivered(message_id=str(msg.message_id), chat_id=chat)

    # ------------------------------------------------------------------ forum topics

    async def _topic_for(self, chat_id: str, number: int, name: str) -> int | None:
        """The card's own forum topic, when the chat is a forum where the bot may manage topics."""
        if not self.use_topics or not chat_id.startswith("-"):
            return None
        made = self._topics.get((chat_id, number))
        if made is not None:
            return made
        if not await self._can_make_topics(chat_id):
            return None
        try:
            async with self.pacer.slot(chat_id):
                topic = await self.bot.create_forum_topic(int(chat_id), render.shorten(name, 128))
        except BadRequest as exc:
            # Rights changed since we looked: post in the General topic, and look again later.
            log.info("telegram: cannot create a topic in %s (%s); posting the card in the chat", chat_id, exc.message)
            self._forums[chat_id] = (time.monotonic(), False)
            return None
        self._topics[(chat_id, number)] = topic.message_thread_id
        return topic.message_thread_id

    async def _can_make_topics(self, chat_id: str) -> bool:
        cached = self._forums.get(chat_id)
        if cached and time.monotonic() - cached[0] < FORUM_CACHE_SECONDS:
            return cached[1]
        chat = await self.bot.get_chat(int(chat_id))
        able = False
        if chat.is_forum:
            me = await self.bot.get_chat_member(int(chat_id), self.bot.id)
            able = me.status == ChatMemberStatus.ADMINISTRATOR and bool(getattr(me, "can_manage_topics", False))
        self._forums[chat_id] = (time.monotonic(), able)
        return able

    # ------------------------------------------------------------------ Bot API calls, paced

    async def _send(self, chat_id: str, text: str, *, reply_to: str | int | None = None, thread: str | None = None,
                    markup: InlineKeyboardMarkup | ForceReply | None = None) -> Message:
        reply = ReplyParameters(int(reply_to), allow_sending_without_reply=True) if reply_to else None
        async with self.pacer.slot(chat_id):
            return await self.bot.send_message(
                _chat(chat_id), text, parse_mode=ParseMode.HTML, reply_markup=markup, reply_parameters=reply,
                message_thread_id=int(thread) if thread else None, link_preview_options=NO_PREVIEW)

    async def _edit(self, chat_id: str, message_id: str, text: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            async with self.pacer.slot(chat_id):
                await self.bot.edit_message_text(text, chat_id=_chat(chat_id), message_id=int(message_id),
                                                 parse_mode=ParseMode.HTML, reply_markup=markup,
                                                 link_preview_options=NO_PREVIEW)
        except BadRequest as exc:
            if not not_modified(exc):  # the same content again is what we wanted
                raise

    async def answer(self, chat_id: str, text: str, *, reply_to: int | None = None, thread: int | None = None,
                     markup: Any = None) -> int | None:
        """An immediate answer to someone (not from the outbox): a few polite retries, then give up."""
        for _ in range(3):
            try:
                msg = await self._send(chat_id, text, reply_to=reply_to, thread=str(thread) if thread else None,
                                       markup=markup)
                return msg.message_id
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc) * self.time_scale)
            except TelegramError as exc:
                log.warning("telegram: could not answer in chat %s: %s", chat_id, exc.message)
                return None
        return None


def _chat(chat_id: str) -> int | str:
    """Numeric ids as numbers; '@channelname' as is."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
