"""Composition root: builds everything from one Config (no module does work at import time)."""
from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import Engine

from bot.config import Config, ConfigError
from bot.sla_config import load_sla
from bot.console import ConsoleChat, ConsoleSender
from bot.core_process import CoreProcess
from bot.core_runner import CoreRunner, threads_for, tune_interpreter
from bot.delivery import Sender
from bot.outbox import Dispatcher, OutboxStore
from handlers.bus import Desk, execute
from handlers.clock import Clock, SystemClock
from handlers.commands import Command
from handlers.people import sync_people
from handlers.replies import Reply
from store.db import make_session_factory
from store.errors import DatabaseProblem
from store.migrate import open_database as store_open_database
from store.uow import UnitOfWorkFactory

log = logging.getLogger("afterdesk")


class Adapter(Protocol):
    """A chat platform plugged into the runtime."""

    sender: Sender

    def add_routes(self, app: web.Application) -> bool:
        """Register HTTP routes; True if this adapter needs the HTTP server."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def open_database(url: str, auto_upgrade: bool | None = None) -> Engine:
    """Engine for the URL; SQLite is created and upgraded on start, others must be upgraded first."""
    try:
        return store_open_database(url, auto_upgrade)
    except DatabaseProblem as err:
        raise ConfigError(str(err)) from None


def open_desk(config: Config, clock: Clock | None = None) -> tuple[Engine, Desk]:
    """Engine and desk, with the people from the config registered and the ticket counter in place."""
    engine = open_database(config.desk.database_url)
    uow = UnitOfWorkFactory(make_session_factory(engine))
    desk = Desk(uow=uow, clock=clock or SystemClock(), policy=config.policy())
    with uow() as u:
        sync_people(u, desk.policy.people)
        u.tickets.ensure_counter(desk.policy.first_number)
        u.commit()
    return engine, desk


@dataclass
class Runtime:
    config: Config
    engine: Engine
    desk: Desk
    dispatcher: Dispatcher
    outbox: OutboxStore
    core: CoreRunner | CoreProcess
    console: ConsoleChat | None = None
    adapters: list[Any] = field(default_factory=list)
    http: web.Application | None = None
    services: list[Any] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    http_port: int | None = None

    def execute(self, cmd: Command) -> Reply:
        """Run a command synchronously (CLI, demo, tests)."""
        return execute(self.desk, cmd)

    async def submit(self, cmd: Command) -> Reply:
        """Run a command off the event loop, on the core's own threads: the core is synchronous."""
        return await self.core.submit(cmd)

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="outbox"))
        # Before any adapter takes a new request, so what the last process acknowledged runs first.
        replayed = await self.core.replay(self.desk.clock.now())
        self._tasks.append(asyncio.ensure_future(replayed))
        if self.http is not None:
            self._runner = web.AppRunner(self.http, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.http.host, self.config.http.port)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.http_port = sockets[0].getsockname()[1] if sockets else self.config.http.port
            log.info("HTTP server listening on %s:%s", self.config.http.host, self.http_port)
        for adapter in self.adapters:
            await adapter.start()
        for service in self.services:
            await service.start()
        tune_interpreter()

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
        # Deliveries in flight finish while their platform senders are still up.
        await self.dispatcher.stop()
        for adapter in reversed(self.adapters):
            await adapter.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        self.core.stop()
        self.engine.dispose()


AdapterFactory = Callable[[Runtime], Any]


def build(config: Config, clock: Clock | None = None, console: ConsoleChat | None = None,
          adapter_factories: dict[str, AdapterFactory] | None = None) -> Runtime:
    """Wire store, desk, outbox, adapters and services from the config."""
    engine, desk = open_desk(config, clock)
    outbox = OutboxStore(desk, config.outbox.max_attempts)
    senders: dict[str, Sender] = {}
    if config.console.enabled:
        console = console or ConsoleChat(echo=print)
        senders["console"] = ConsoleSender(console)
    dispatcher = Dispatcher(outbox, senders, config.outbox.poll_seconds)
    desk.on_commit = dispatcher.wake
    core = core_for(config, desk)
    runtime = Runtime(config=config, engine=engine, desk=desk, dispatcher=dispatcher, outbox=outbox, core=core,
                      console=console)
    http = web.Application()
    http.router.add_get("/healthz", _health)
    needs_http = False
    for platform in config.enabled_platforms():
        factory = (adapter_factories or {}).get(platform) or adapter_factory(platform)
        if factory is None:
            continue
        adapter = factory(runtime)
        runtime.adapters.append(adapter)
        dispatcher.senders[platform] = adapter.sender
        needs_http = adapter.add_routes(http) or needs_http
    runtime.http = http if needs_http else None
    for service_factory in service_factories():
        service = service_factory(runtime)
        if service is not None:
            runtime.services.append(service)
    return runtime


def core_for(config: Config, desk: Desk) -> CoreRunner | CoreProcess:
    """Where commands run: on a thread of this process, or in a core process of their own when the config
    asks (then this process's interpreter is spent on the platforms only) and the clock can be shared with
    another process (a test's fake clock cannot)."""
    if config.desk.core_process and getattr(desk.clock, "crosses_processes", False):
        return CoreProcess(config.desk.database_url, desk, load_sla(config))
    return CoreRunner(desk, threads_for(config.desk.database_url))


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _optional(module: str, name: str) -> Any:
    """An optional component: absent module → None; a broken one still raises."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except ModuleNotFoundError:
        return None
    return getattr(importlib.import_module(module), name)


ADAPTERS = {"slack": ("bot.slack.adapter", "SlackAdapter"), "telegram": ("bot.telegram.adapter", "TelegramAdapter")}


def adapter_factory(platform: str) -> AdapterFactory | None:
    """A platform's adapter class, imported only when that platform is on."""
    return _optional(*ADAPTERS[platform]) if platform in ADAPTERS else None


def service_factories() -> list[Callable[[Runtime], Any]]:
    """Background services (the SLA scheduler) that run beside the adapters."""
    factory = _optional("scheduler.service", "build_scheduler")
    return [factory] if factory else []
