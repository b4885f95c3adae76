"""The Telegram adapter: python-telegram-bot wired into the runtime (polling or webhook).

bootstrap builds it with `TelegramAdapter(runtime)`; its `sender` delivers the outbox's Telegram rows;
`add_routes` adds POST /telegram/webhook in webhook mode; `start`/`stop` run the bot.
"""
from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import ssl
from typing import TYPE_CHECKING

import httpx
from aiohttp import web
from telegram import BotCommand, Update
from telegram.error import InvalidToken
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.config import ConfigError
from bot.logs import RedactSecrets
from bot.telegram.form import FormSpec
from bot.telegram.inbound import Inbound
from bot.telegram.pacing import Pacer
from bot.telegram.polling import STOP_GRACE_S, Poller, handle
from bot.telegram.sender import TelegramSender
from bot.telegram.storage import TelegramStore
from bot.telegram.wording import plain
from handlers.tickets import LIMITS

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

log = logging.getLogger("afterdesk.telegram")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
MENU = ("ticket", "new", "show", "mine", "cancel", "help")
# Loggers that may print a Bot API URL (the token is part of it) or an error carrying one.
REDACTED_LOGGERS = ("httpx", "httpcore", "telegram", "afterdesk", "asyncio", "aiohttp")
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]{1,256}")
# How long a webhook call waits for its update to be handled before Telegram is answered anyway (the
# handling goes on; Telegram would otherwise time out and send the update again).
WEBHOOK_BUDGET_S = 10.0


class TelegramAdapter:
    """Telegram for the runtime. `time_scale` < 1 runs Telegram's clock faster (tests against the fake)."""

    def __init__(self, runtime: Runtime, *, time_scale: float = 1.0, poll_timeout: int = 10) -> None:
        self.runtime = runtime
        cfg = runtime.config.telegram
        self.mode = cfg.mode
        token = cfg.bot_token.get_secret_value() if cfg.bot_token else ""
        if not token:
            raise ConfigError("telegram.bot_token is missing — set AFTERDESK_TELEGRAM_BOT_TOKEN")
        self._secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else ""
        self.webhook_url = cfg.webhook_url
        if self.mode == "webhook":
            _check_webhook(self._secret, self.webhook_url)
        self.poll_timeout = poll_timeout
        self.redactor = RedactSecrets(runtime.config.secrets() + [token])
        self._redacted: list[logging.Logger] = []
        self._redact_logs()  # before the Bot exists: it logs its URLs (token included) when built
        builder = (Application.builder().token(token).base_url(cfg.base_url).base_file_url(cfg.base_file_url)
                   .request(HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": _tls()}))
                   .get_updates_request(HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": _tls()}))
                   .job_queue(None)
                   # Webhook: updates arrive on the runtime's HTTP server. Polling: our Poller, which confirms
                   # updates only once handled (the Updater confirms them as soon as it has queued them).
                   .updater(None))
        self.application = builder.build()
        self.bot = self.application.bot
        self.poller = Poller(self.application, poll_timeout, ALLOWED_UPDATES)
        self._handling: set[asyncio.Future[None]] = set()  # webhook updates being handled
        self._order: asyncio.Lock | None = None
        outbox = runtime.config.outbox
        self.pacer = Pacer(outbox.telegram_group_per_minute, outbox.telegram_global_per_second,
                           outbox.telegram_interval, time_scale)
        self.store = TelegramStore(runtime.desk.uow, runtime.desk.clock)
        fallback = {key: g.channels["telegram"] for key, g in runtime.config.groups.items()
                    if g.channels.get("telegram")}
        self.sender = TelegramSender(self.bot, self.pacer, outbox.telegram_interval, use_topics=cfg.use_topics,
                                     time_scale=time_scale, fallback_chats=fallback)
        desk = runtime.config.desk
        spec = FormSpec(categories=tuple(desk.categories), products=tuple(desk.products), limits=LIMITS)
        self.inbound = Inbound(runtime, self.sender, self.store, spec)
        self.inbound.register(self.application)

    def add_routes(self, app: web.Application) -> bool:
        """Webhook mode: POST /telegram/webhook (needs the runtime's HTTP server)."""
        if self.mode != "webhook":
            return False
        app.router.add_post(WEBHOOK_PATH, self._webhook)
        return True

    async def start(self) -> None:
        self._redact_logs()
        try:
            await self.application.initialize()  # getMe: checks the token, learns the bot's @username
        except InvalidToken:
            raise ConfigError("telegram.bot_token was refused by the Bot API — check AFTERDESK_TELEGRAM_BOT_TOKEN "
                              "(and telegram.base_url)") from None
        await self.bot.set_my_commands([BotCommand(c, plain(f"tg_cmd_{c}")) for c in MENU])
        await self.application.start()
        if self.mode == "webhook":
            await self.bot.set_webhook(self.webhook_url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES)
        else:
            await self.poller.start()
        self.sender.ready.set()
        log.info("Telegram: @%s connected (%s)", self.bot.username, self.mode)

    async def stop(self) -> None:
        self.sender.closed = True
        await self.poller.stop()
        if self._handling:
            await asyncio.wait(set(self._handling), timeout=STOP_GRACE_S)
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        for logger in self._redacted:
            logger.removeFilter(self.redactor)
        self._redacted.clear()

    async def _webhook(self, request: web.Request) -> web.Response:
        """An update from Telegram: only with our secret token (compared in constant time)."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("telegram: webhook call from %s without the right secret token — refused", request.remote)
            return web.Response(status=403, text="forbidden")
        if not self.application.running:
            return web.Response(status=503, text="starting")
        try:
            update = Update.de_json(await request.json(), self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400, text="not an update")
        # Telegram hears "ok" once the update is handled, so a crash before that makes it send the update
        # again (dropped by its update id if it was done) instead of losing it.
        handling = asyncio.ensure_future(self._handle_in_order(update))
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
        await asyncio.wait({handling}, timeout=WEBHOOK_BUDGET_S)
        return web.Response(text="ok")

    async def _handle_in_order(self, update: Update) -> None:
        if self._order is None:
            self._order = asyncio.Lock()  # in the serving loop; it wakes its waiters in arrival order
        async with self._order:
            await handle(self.application, update)

    def _redact_logs(self) -> None:
        """HTTP clients log request URLs, and a Bot API URL holds the token: mask it at the source
        loggers, so every handler (files, test capture) only ever sees the masked text."""
        names = [n for n in list(logging.root.manager.loggerDict)
                 if any(n == p or n.startswith(p + ".") for p in REDACTED_LOGGERS)]
        for name in sorted(set(names) | set(REDACTED_LOGGERS)):
            logger = logging.getLogger(name)
            if self.redactor not in logger.filters:
                logger.addFilter(self.redactor)
                self._redacted.append(logger)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (certificate checks on) for every Bot API client of the process: building one
    loads the CA bundle, which costs about 50 ms each time."""
    return httpx.create_ssl_context()


def _check_webhook(secret: str, url: str) -> None:
    """Fail closed: webhook mode runs only with a usable secret token and a public HTTPS URL."""
    if not secret:
        raise ConfigError("telegram.webhook_secret is missing: webhook mode refuses unauthenticated updates — "
                          "set AFTERDESK_TELEGRAM_WEBHOOK_SECRET")
    if not _SECRET_CHARS.fullmatch(secret):
        raise ConfigError("telegram.webhook_secret may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters)")
    if not url.startswith("https://"):
        raise ConfigError("telegram.webhook_url must be the public https:// URL Telegram posts to, "
                          f"ending in {WEBHOOK_PATH} (e.g. https://desk.example.com{WEBHOOK_PATH})")
