"""SlackAdapter: a Bolt AsyncApp on the runtime's HTTP server (or Socket Mode), plus the outbox sender.

Every listener acknowledges first and works after (`process_before_response=False`), so Slack gets
its answer within 3 s whatever the load; the work itself runs the core off the event loop. What an
event carries is kept before that acknowledgement (see `listen`'s `keep`): Slack sends an acknowledged
event only once.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError
from bot.slack import actions, commands, events
from bot.slack.cards import Cards
from bot.slack.identity import People, team_of
from bot.slack.sender import SlackSender
from handlers.commands import Command
from handlers.replies import Reply, text

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

log = logging.getLogger("afterdesk.slack")

EVENTS_PATH = "/slack/events"
# How long shutdown waits for work already acknowledged to Slack.
STOP_GRACE = 10.0
# A listener may return what is left to do after the ack (see SlackAdapter.listen).
Listener = Callable[[AsyncArgs], Awaitable["Awaitable[None] | None"]]
# Before an event's ack: its command, kept (and the future of its reply), or None if it is not ours.
Keep = Callable[[AsyncArgs], Awaitable["Kept | None"]]
Kept = tuple[Command, "asyncio.Future[Reply] | None"]
# How long an event's ack may wait for it to be kept: Slack gives 3 s, then sends it again (the retry
# is dropped by its event id once the first is kept). A database slower than this gets the ack first.
EVENT_KEEP_BUDGET = 2.0
_KEEPING = "afterdesk_keeping"
_ARRIVED = "afterdesk_arrived"


class Inflight:
    """Counts acknowledged requests still being worked on (for shutdown and tests)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self.count += 1
        self._idle.clear()

    def end(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._idle.set()

    async def wait(self) -> None:
        await self._idle.wait()


class SlackAdapter:
    """The Slack platform plugged into the runtime (see bot.bootstrap.Adapter)."""

    def __init__(self, runtime: Runtime) -> None:
        cfg = runtime.config.slack
        if cfg.bot_token is None or not cfg.bot_token.get_secret_value():
            raise ConfigError("slack.bot_token is missing — set AFTERDESK_SLACK_BOT_TOKEN (xoxb-…)")
        secret = cfg.signing_secret.get_secret_value() if cfg.signing_secret else ""
        if cfg.mode == "http" and not secret:
            raise ConfigError("slack.signing_secret is missing: HTTP mode refuses unsigned requests — "
                              "set AFTERDESK_SLACK_SIGNING_SECRET")
        if cfg.mode == "socket" and (cfg.app_token is None or not cfg.app_token.get_secret_value()):
            raise ConfigError("slack.app_token is missing: Socket Mode needs an app-level token (xapp-…)")
        self.runtime = runtime
        self.config = cfg
        token = cfg.bot_token.get_secret_value()
        self.client = AsyncWebClient(token=token, base_url=cfg.api_base_url)
        # The sender's own client: no SDK retries, the dispatcher paces and retries in order.
        sender_client = AsyncWebClient(token=token, base_url=cfg.api_base_url, retry_handlers=[])
        self.cards = Cards(runtime.desk)
        self.sender = SlackSender(sender_client, runtime.config.outbox.slack_interval)
        self.people = People(self.client, {p.slack: p.name for p in runtime.config.people.values() if p.slack})
        self.inflight = Inflight()
        self._rests: set[asyncio.Task[None]] = set()
        self.bot_user_id: str | None = None
        self.app = AsyncApp(
            name="afterdesk", client=self.client, signing_secret=secret, process_before_response=False,
            # Socket Mode has no HTTP signature: the WebSocket itself is authenticated by the app token.
            request_verification_enabled=cfg.mode == "http", logger=logging.getLogger("afterdesk.slack.bolt"),
        )
        if self.app.oauth_flow is not None:
            # Bolt reads SLACK_CLIENT_ID/SLACK_CLIENT_SECRET itself and would then ignore our bot token.
            raise ConfigError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set in the environment: slack_bolt would "
                              "switch to multi-workspace OAuth and ignore slack.bot_token — unset them")
        self.app.use(self._only_our_workspace)
        self._socket: Any = None
        self._session: aiohttp.ClientSession | None = None
        commands.register(self)
        events.register(self)
        actions.register(self)

    # -- plugging into the runtime ------------------------------------------------------------
    def add_routes(self, app: web.Application) -> bool:
        """HTTP mode: POST /slack/events on the runtime's server (events, commands, interactivity)."""
        if self.config.mode != "http":
            return False
        app.router.add_post(EVENTS_PATH, self.handle_http)
        return True

    async def handle_http(self, request: web.Request) -> web.Response:
        """One Slack request: Bolt verifies the signature (401 if forged or stale) and routes it."""
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def start(self) -> None:
        """Check the token (fail closed on a refused one), then connect Socket Mode if configured."""
        # One kept-alive connection pool for the calls made while Slack waits (views.open has 3 s).
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.client.timeout))
        self.client.session = self._session
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
                raise ConfigError(f"slack.bot_token was refused by Slack ({error}) — copy the Bot User OAuth "
                                  "Token (xoxb-…) from the app's OAuth & Permissions page") from None
            log.warning("slack: auth.test failed (%s); continuing, Slack may be having trouble", error)
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("slack: cannot reach %s (%s); continuing", self.config.api_base_url, exc)
        else:
            self.bot_user_id = auth.get("user_id")
            team = auth.get("team_id")
            if self.config.team_id and team != self.config.team_id:
                raise ConfigError(f"slack.team_id is {self.config.team_id} but the bot token belongs to {team}")
            log.info("slack: connected to %s as %s (%s mode)", auth.get("team"), auth.get("user"), self.config.mode)
        if self.config.mode == "socket":
            await self._start_socket_mode()

    async def _start_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        assert self.config.app_token is not None
        self._socket = AsyncSocketModeHandler(self.app, self.config.app_token.get_secret_value(),
                                              web_client=self.client)
        await self._socket.connect_async()

    async def stop(self) -> None:
        """Stop taking requests, then let acknowledged work finish (bounded)."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        try:
            await asyncio.wait_for(self.inflight.wait(), STOP_GRACE)
        except TimeoutError:
            log.warning("slack: %s request(s) still running at shutdown", self.inflight.count)
        if self._session is not None:
            self.client.session = None
            await self._session.close()
            self._session = None

    async def settle(self) -> None:
        """Wait until every acknowledged request has been worked off (tests, shutdown)."""
        await self.inflight.wait()

    # -- what listeners share ------------------------------------------------------------------
    def listen(self, register: Callable[..., Callable[[Listener], Any]], fn: Listener, keep: Keep | None = None
               ) -> None:
        """Register `fn` so it is counted in flight from the moment Bolt routes the request to it.

        `keep`: for events, which Bolt acknowledges before their listener runs — it runs before the ack
        instead, and `fn` gets what it kept, run, from `finish_kept(args)`."""

        async def begin(context: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
            # Listener middleware runs before Bolt acknowledges, so the work is counted before Slack
            # (or a test) sees the answer, and waits for room in the core before Slack is told "got it".
            context[_ARRIVED] = asyncio.get_running_loop().time()
            await self.runtime.core.door.acquire()
            self.inflight.begin()
            await next_()

        async def keep_first(args: AsyncArgs) -> None:
            keeping = asyncio.ensure_future(keep(args))  # type: ignore[misc]
            waited = asyncio.get_running_loop().time() - args.context[_ARRIVED]  # for room in the core, say
            await asyncio.wait({keeping}, timeout=max(0.0, EVENT_KEEP_BUDGET - waited))
            args.context[_KEEPING] = keeping
            await args.next_()

        async def run(args: AsyncArgs) -> None:
            rest = None
            try:
                rest = await fn(args)
            except Exception:
                log.exception("slack: %s failed", fn.__name__)
            finally:
                if rest is None:
                    self._done()
            if rest is not None:
                # What a listener leaves for after the ack (waiting for the core, answering) runs on its own,
                # so Bolt's request objects go with the listener: thousands of requests may wait in a burst.
                task = asyncio.ensure_future(self._rest(fn.__name__, rest))
                self._rests.add(task)
                task.add_done_callback(self._rests.discard)

        run.__name__ = fn.__name__
        register(middleware=[begin, keep_first] if keep else [begin])(run)

    async def finish_kept(self, args: AsyncArgs) -> tuple[Command, Reply] | None:
        """In a listener registered with `keep`: the command kept before the ack and its reply, once the core
        has run it (None: the event was nothing of ours)."""
        kept: Kept | None = await args.context[_KEEPING]
        if kept is None:
            return None
        cmd, pending = kept
        return cmd, await self.finish(cmd, pending)

    async def _rest(self, name: str, rest: Awaitable[None]) -> None:
        try:
            await rest
        except Exception:
            log.exception("slack: %s failed", name)
        finally:
            self._done()

    def _done(self) -> None:
        self.inflight.end()
        self.runtime.core.door.release()

    async def run(self, cmd: Command) -> Reply:
        """Run a core command as its (named) actor; an unexpected failure becomes "nothing was changed"."""
        return await self.finish(cmd, await self.accept(cmd))

    async def accept(self, cmd: Command) -> asyncio.Future[Reply] | None:
        """Keep the command as its (named) actor; None if it could not be kept (nothing was changed)."""
        try:
            return await self.runtime.core.accept(await self.named(cmd))
        except Exception:
            log.exception("slack: could not keep %s", type(cmd).__name__)
            return None

    async def finish(self, cmd: Command, pending: asyncio.Future[Reply] | None) -> Reply:
        try:
            if pending is not None:
                return await pending
        except Exception:
            log.exception("slack: %s failed", type(cmd).__name__)
        return Reply(texts=(text("err_internal"),), ok=False)

    async def named(self, cmd: Command) -> Command:
        """The command with its actor and the people Slack vouched for named (first contact gets a name)."""
        actor = await self.people.actor(cmd.actor.user_id, cmd.actor.workspace)
        known = [await self.people.actor(k.user_id, k.workspace) for k in cmd.known_users]
        return dataclasses.replace(cmd, actor=actor, known_users=tuple(known))

    async def _only_our_workspace(self, body: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> Any:
        """With slack.team_id set, requests from any other workspace are acknowledged and dropped."""
        team = team_of(body)
        if self.config.team_id and team and team != self.config.team_id:
            log.warning("slack: ignored a request from workspace %s (configured: %s)", team, self.config.team_id)
            return BoltResponse(status=200, body="")
        await next_()
        return None
