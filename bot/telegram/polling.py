"""Long polling that confirms updates to Telegram only once they have been handled.

getUpdates confirms every update below its `offset`. python-telegram-bot's Updater asks for the next
updates as soon as it has queued the last ones, before they are handled: a crash in between lost what
people had just written. Here the next getUpdates waits until each update of the batch has been handled
(its change committed, or an answer given); after a crash Telegram sends them again, and those already
handled are dropped by their update id (every command carries it as a dedup key).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

log = logging.getLogger("afterdesk.telegram")

# Seconds between attempts while the Bot API cannot be reached: doubling up to the cap.
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 30.0
# How long stopping waits for the update being handled.
STOP_GRACE_S = 10.0


class Poller:
    def __init__(self, application: Application, timeout: int, allowed_updates: list[str]) -> None:
        self.application = application
        self.bot = application.bot
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self.offset: int | None = None  # the first update id not handled yet
        self._task: asyncio.Task[None] | None = None
        self._handling = False
        self._stopping = False

    async def start(self) -> None:
        try:
            await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
        except TelegramError as exc:
            log.warning("telegram: could not remove a webhook before polling (%s)", exc)
        self._stopping = False
        self._task = asyncio.create_task(self._poll_forever(), name="telegram-polling")

    async def _poll_forever(self) -> None:
        retry_s = FIRST_RETRY_S
        while not self._stopping:
            try:
                updates = await self.bot.get_updates(offset=self.offset, timeout=self.timeout,
                                                     allowed_updates=self.allowed_updates)
            except InvalidToken:
                log.error("telegram: the bot token was refused while polling; no more updates will be read")
                return
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except TelegramError as exc:
                log.warning("telegram: getUpdates failed (%s); trying again in %.0f s", exc, retry_s)
                await asyncio.sleep(retry_s)
                retry_s = min(MAX_RETRY_S, retry_s * 2)
                continue
            retry_s = FIRST_RETRY_S
            for update in updates:
                if self._stopping:
                    return  # the rest stays unconfirmed: Telegram sends it again at the next start
                self._handling = True
                try:
                    await handle(self.application, update)
                finally:
                    self._handling = False
                self.offset = update.update_id + 1

    async def stop(self) -> None:
        """Stop polling: a long poll is broken off, an update being handled is finished first; then what was
        handled is confirmed to Telegram."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        if not self._handling:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if not done:
            log.warning("telegram: an update was still being handled at shutdown; it comes again at the next start")
            task.cancel()
            await asyncio.wait({task})
        if self.offset is not None:
            try:
                await self.bot.get_updates(offset=self.offset, timeout=0, limit=1,
                                           allowed_updates=self.allowed_updates)
            except TelegramError as exc:  # they come again at the next start and are dropped as handled
                log.info("telegram: could not confirm the last updates at shutdown (%s)", exc)


async def handle(application: Application, update: Update) -> None:
    """Run the handlers of one update to their end. Handlers answer their own failures; one that escapes is
    the framework's, logged and skipped — not retried for ever: it must not hold up the updates after it."""
    try:
        await application.process_update(update)
    except Exception:
        log.exception("telegram: update %s could not be processed", update.update_id)


def _seconds(retry_after: int | float | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
