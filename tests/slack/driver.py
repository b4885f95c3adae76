"""Plays Slack's side: signed requests to the runtime's real POST /slack/events, payloads shaped like Slack's.

Requests are signed with slack_sdk's SignatureVerifier and the current real time (Slack's replay
window is checked against the wall clock, while the core runs on a FakeClock).
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.bootstrap import Runtime
from bot.slack.adapter import SlackAdapter
from handlers.commands import Actor, ShowTicket
from handlers.views import TicketView
from tests.fakes.slack_api import FakeSlack

TEAM = "T0001"
SECRET = "test-signing-secret-0123456789abcdef"


def wire(text: str) -> str:
    """Text as Slack sends it: &, <, > as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class Answer:
    status: int
    body: str
    response_url: str = ""
    responses: list[Any] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackDriver:
    """What Slack would send when people use the app; `settle` waits for the ack-then-work path."""

    def __init__(self, runtime: Runtime, fake: FakeSlack, session: aiohttp.ClientSession,
                 secret: str = SECRET) -> None:
        self.runtime, self.fake, self.session, self.secret = runtime, fake, session, secret
        self.url = f"http://127.0.0.1:{runtime.http_port}/slack/events"
        self.adapter = next(a for a in runtime.adapters if isinstance(a, SlackAdapter))
        self._ids = itertools.count(1)

    # -- transport ---------------------------------------------------------------------------
    async def send(self, body: str, content_type: str, *, timestamp: int | None = None,
                   signature: str | None = None, signed: bool = True, headers: dict[str, str] | None = None,
                   settle: bool = True) -> Answer:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, **(headers or {})}
        if signed:
            sent["X-Slack-Request-Timestamp"] = ts
            sent["X-Slack-Signature"] = signature or SignatureVerifier(self.secret).generate_signature(
                timestamp=ts, body=body)
        async with self.session.post(self.url, data=body.encode(), headers=sent) as resp:
            answer = Answer(resp.status, await resp.text())
        if settle:
            await self.settle()
        return answer

    async def settle(self) -> None:
        await self.adapter.settle()

    async def deliver(self) -> None:
        """Run the outbox until everything due is sent."""
        await self.runtime.dispatcher.drain()

    # -- what people do ------------------------------------------------------------------------
    async def slash(self, user: str, text: str, channel: str = "CSERVICE", escaped: bool = False, **send: Any
                    ) -> Answer:
        """`/ticket text` typed by `user` (`escaped`: text is already in Slack's wire format, e.g. mentions)."""
        url = self.fake.new_response_url()
        form = {"token": "legacy", "team_id": TEAM, "team_domain": "fake", "channel_id": channel,
                "channel_name": channel.lower(), "user_id": user, "user_name": user.lower(), "command": "/ticket",
                "text": text if escaped else wire(text), "api_app_id": "A0001", "is_enterprise_install": "false",
                "response_url": url, "trigger_id": f"{next(self._ids)}.123.trigger"}
        answer = await self.send(urlencode(form), "application/x-www-form-urlencoded", **send)
        answer.response_url, answer.responses = url, self.fake.responses(url)
        return answer

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> str:
        return json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A0001", "event": event,
                           "type": "event_callback", "event_id": event_id or f"Ev{next(self._ids):06d}",
                           "event_time": int(time.time()), "authorizations": [
                               {"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]})

    async def event(self, event: dict[str, Any], event_id: str | None = None, retry: int = 0, **send: Any
                    ) -> Answer:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.send(self.event_body(event, event_id), "application/json", headers=headers, **send)

    def reply_event(self, user: str, channel: str, thread_ts: str, text: str, files: list[str] = ()
                    ) -> dict[str, Any]:
        """Put a person's thread reply into the fake (as Slack would) and return its message event."""
        msg = self.fake.add_message(channel, text, user, thread_ts=thread_ts, files=list(files) or None)
        event = {"type": "message", "channel": channel, "user": user, "text": wire(text), "ts": msg["ts"],
                 "thread_ts": thread_ts, "channel_type": "channel", "event_ts": msg["ts"], "team": TEAM}
        if files:
            event.update(subtype="file_share", files=msg["files"], upload=True)
        return event

    async def reply(self, user: str, channel: str, thread_ts: str, text: str, files: list[str] = ()) -> Answer:
        return await self.event(self.reply_event(user, channel, thread_ts, text, files))

    async def interact(self, payload: dict[str, Any]) -> Answer:
        return await self.send(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def click(self, user: str, channel: str, card_ts: str, action_id: str, value: str | None = None
                    ) -> Answer:
        """Press Claim, or pick a user / status on the card as it is in the fake right now."""
        card = self.fake.message(channel, card_ts)
        assert card is not None, "no card there"
        block = next(b for b in card["blocks"] if b["type"] == "actions")
        element = next(e for e in block["elements"] if e["action_id"] == action_id)
        action: dict[str, Any] = {"action_id": action_id, "block_id": block["block_id"], "type": element["type"],
                                  "action_ts": f"{time.time():.6f}"}
        if element["type"] == "button":
            action["value"] = element["value"]
        elif element["type"] == "users_select":
            action["selected_user"] = value
        else:
            action["selected_option"] = next(o for o in element["options"] if o["value"] == value)
        url = self.fake.new_response_url()
        answer = await self.interact({
            "type": "block_actions", "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM}, "api_app_id": "A0001",
            "token": "legacy", "trigger_id": f"{next(self._ids)}.123.trigger",
            "container": {"type": "message", "message_ts": card_ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": channel.lower()}, "message": card, "response_url": url,
            "actions": [action]})
        answer.response_url, answer.responses = url, self.fake.responses(url)
        return answer

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, str]) -> Answer:
        """Submit an opened modal with `values` (field → text / option value / user id)."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input" or block["block_id"] not in values:
                continue
            element, value = block["element"], values[block["block_id"]]
            if element["type"] == "static_select":
                picked = next(o for o in element["options"] if o["value"] == value)
                entry: dict[str, Any] = {"type": "static_select", "selected_option": picked}
            elif element["type"] == "users_select":
                entry = {"type": "users_select", "selected_user": value}
            else:
                entry = {"type": "plain_text_input", "value": value}
            state[block["block_id"]] = {element["action_id"]: entry}
        return await self.interact({
            "type": "view_submission", "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM}, "api_app_id": "A0001",
            "token": "legacy", "trigger_id": f"{next(self._ids)}.123.trigger",
            "view": {**view, "state": {"values": state}}})

    # -- looking at the result ----------------------------------------------------------------------
    def ticket(self, number: int) -> TicketView:
        reply = self.runtime.execute(ShowTicket(Actor("slack", "UBOSS"), number=number))
        assert reply.ticket is not None, reply.texts
        return reply.ticket

    def ticket_count(self) -> int:
        with self.runtime.desk.uow() as uow:
            return uow.tickets.count()

    def cards(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages(channel) if m.get("user") == "UBOT" and m.get("blocks")]
