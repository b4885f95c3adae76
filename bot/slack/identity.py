"""Who acts: the verified Slack user id within its workspace, with a display name for first contact.

The id comes from the signed payload, never from text a user typed. Names are only decoration: the
config's name for people it lists, else Slack's profile name (cached; `users.info` needs users:read).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.commands import Actor

log = logging.getLogger("afterdesk.slack")

PLATFORM = "slack"
CACHE_SIZE = 2000


class People:
    """Builds Actors; remembers Slack names so each user costs at most one users.info call."""

    def __init__(self, client: AsyncWebClient, configured: Mapping[str, str]) -> None:
        self.client = client
        # Slack id → name from the config: those people need no lookup.
        self.configured = dict(configured)
        self._names: OrderedDict[str, tuple[str, str]] = OrderedDict()

    async def actor(self, user_id: str, team: str) -> Actor:
        """The Actor for a verified user id (name looked up on first contact)."""
        name, username = await self._lookup(user_id)
        return Actor(PLATFORM, user_id, team, display_name=name, username=username)

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Display names for mentioned users (ids without a known name are left out)."""
        found: dict[str, str] = {}
        for uid in user_ids:
            name, _ = await self._lookup(uid)
            if name:
                found[uid] = name
        return found

    async def _lookup(self, user_id: str) -> tuple[str, str]:
        if user_id in self.configured:
            return self.configured[user_id], ""
        if user_id in self._names:
            self._names.move_to_end(user_id)
            return self._names[user_id]
        try:
            resp = await self.client.users_info(user=user_id)
        except (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # A name is nice to have; the id alone identifies the person.
            log.warning("slack: users.info %s failed (%s); using the id as the name", user_id, exc)
            return "", ""
        found = _name_of(resp.get("user") or {})
        self._names[user_id] = found
        while len(self._names) > CACHE_SIZE:
            self._names.popitem(last=False)
        return found


def _name_of(user: Mapping[str, Any]) -> tuple[str, str]:
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or ""
    return str(name), str(user.get("name") or "")


def team_of(body: Mapping[str, Any]) -> str:
    """The workspace id of any Slack payload (event, command, interaction)."""
    team = body.get("team")
    if isinstance(team, Mapping):
        return str(team.get("id") or "")
    user = body.get("user")
    if isinstance(user, Mapping) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or team or "")
