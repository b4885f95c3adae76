"""Socket Mode: no public URL; Slack's envelopes arrive over a WebSocket (a local one here) and are acked on it."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web

from bot.slack.adapter import SlackAdapter
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import slack_runtime, started
from tests.slack.driver import TEAM


class SocketModeServer:
    """The Slack side of one Socket Mode connection: push envelopes, read the acks."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.ws: web.WebSocketResponse | None = None
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/link"

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        self.ws = web.WebSocketResponse()
        await self.ws.prepare(request)
        await self.ws.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for msg in self.ws:  # until either side closes the connection
            if msg.type == WSMsgType.TEXT:
                await self.received.put(json.loads(msg.data))
        return self.ws

    async def envelope(self, kind: str, payload: dict[str, Any], envelope_id: str) -> dict[str, Any]:
        """Send one envelope; return the ack Slack would get back for it."""
        assert self.ws is not None
        await self.ws.send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                 "accepts_response_payload": kind != "events_api", "retry_attempt": 0})
        while True:
            data = await asyncio.wait_for(self.received.get(), 3.0)  # Slack's own deadline
            if data.get("envelope_id") == envelope_id:
                return data

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture
async def socket_server(fake: FakeSlack) -> AsyncIterator[SocketModeServer]:
    server = SocketModeServer()
    await server.start()
    fake.set_method_handler("apps.connections.open", lambda f, params: {"url": server.url})
    yield server
    await server.stop()


@pytest.mark.asyncio
async def test_socket_mode_takes_commands_and_events_over_the_websocket(tmp_path, clock, fake, socket_server
                                                                        ) -> None:
    runtime = await started(slack_runtime(tmp_path, clock, fake, slack={
        "mode": "socket", "app_token": "xapp-test", "signing_secret": None}))
    try:
        assert runtime.http is None  # no public endpoint needed
        adapter = next(a for a in runtime.adapters if isinstance(a, SlackAdapter))
        await asyncio.wait_for(socket_server.connected.wait(), 5)
        assert fake.calls_to("apps.connections.open") == [{}]

        url = fake.new_response_url()
        ack = await socket_server.envelope("slash_commands", {
            "team_id": TEAM, "channel_id": "CSERVICE", "user_id": "UXIAOMEI", "command": "/ticket",
            "text": "PSU clicks category:hardware", "response_url": url, "trigger_id": "1.2.3"}, "env-1")
        assert ack == {"envelope_id": "env-1"}
        bad = await socket_server.envelope("slash_commands", {
            "team_id": TEAM, "channel_id": "CSERVICE", "user_id": "UXIAOMEI", "command": "/ticket",
            "text": "status 1001", "response_url": fake.new_response_url(), "trigger_id": "1.2.4"}, "env-2")
        assert "needs a status" in bad["payload"]["text"]
        await adapter.settle()
        await runtime.dispatcher.drain()
        assert fake.responses(url)[0]["text"].startswith("Created #1001: PSU clicks")
        [card] = [m for m in fake.messages("CWAREHOUSE") if m.get("blocks")]

        reply = fake.add_message("CWAREHOUSE", "Swapping the PSU", "ULAOWANG", thread_ts=card["ts"])
        ack = await socket_server.envelope("events_api", {
            "type": "event_callback", "team_id": TEAM, "api_app_id": "A0001", "event_id": "EvSOCK1",
            "event": {"type": "message", "channel": "CWAREHOUSE", "user": "ULAOWANG", "text": "Swapping the PSU",
                      "ts": reply["ts"], "thread_ts": card["ts"], "channel_type": "channel"}}, "env-3")
        assert ack == {"envelope_id": "env-3"}
        await adapter.settle()
        with runtime.desk.uow() as uow:
            assert [c.body for c in uow.tickets.by_number(1001).comments] == ["Swapping the PSU"]
    finally:
        await runtime.stop()
    assert socket_server.ws is not None and socket_server.ws.closed
