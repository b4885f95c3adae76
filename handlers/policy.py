"""The desk's rules as plain data: groups, people, routing, notification switches."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PersonSpec:
    """A person from the config, with their chat identities."""

    key: str
    name: str
    timezone: str = "UTC"
    # (platform, user id, username) — e.g. ("slack", "U024BE7LH", ""), ("telegram", "8812", "li_wh")
    identities: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class GroupSpec:
    key: str
    name: str
    members: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    # platform → chat id where the group's ticket cards are posted
    channels: Mapping[str, str] = field(default_factory=dict)
    # who gets a new ticket routed here (e.g. the warehouse lead); empty: nobody until claimed
    default_assignee: str = ""


@dataclass(frozen=True)
class RoutingRule:
    """Send a new ticket to `group` when its category, product or text matches."""

    group: str
    category: str = ""
    product: str = ""
    keyword: str = ""

    def matches(self, category: str, product: str, text: str) -> str | None:
        """The reason this rule matches, or None."""
        if self.category and self.category.lower() == category.lower():
            return f"category '{category}'"
        if self.product and self.product.lower() == product.lower():
            return f"product '{product}'"
        if self.keyword and self.keyword.lower() in text.lower():
            return f"keyword '{self.keyword}'"
        return None


@dataclass(frozen=True)
class DeskPolicy:
    groups: Mapping[str, GroupSpec]
    default_group: str
    rules: tuple[RoutingRule, ...] = ()
    people: tuple[PersonSpec, ...] = ()
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    # Platforms that deliver notifications (console in the demo and tests).
    platforms: tuple[str, ...] = ("console",)
    notify_assignee: bool = True
    notify_reporter: bool = True
    notify_watchers: bool = True
    first_number: int = 1001
    currency: str = "CNY"
    # People who speak for the customer (e.g. a courier's contact): their comments are not a response.
    customer_side: tuple[str, ...] = ()
    # For people the config does not place in a zone (e.g. registered on first contact).
    timezone: str = "UTC"
    # Platforms whose every verified user belongs to the team (a Slack workspace). Elsewhere (Telegram,
    # where anyone can find the bot) only people in the config, or people writing in one of the
    # groups' chats, may use the desk.
    open_platforms: tuple[str, ...] = ("slack", "console")

    def team_chat(self, platform: str, chat_id: str) -> bool:
        """Whether a chat is one of the groups' configured chats."""
        return any(g.channels.get(platform) == chat_id for g in self.groups.values())

    def is_configured(self, person_key: str) -> bool:
        return any(p.key == person_key for p in self.people)

    def group_name(self, key: str) -> str:
        group = self.groups.get(key)
        return group.name if group else key

    def route(self, category: str, product: str, text: str) -> tuple[str, str]:
        """(group key, reason) for a new ticket."""
        for rule in self.rules:
            reason = rule.matches(category, product, text)
            if reason and rule.group in self.groups:
                return rule.group, f"{reason} → {rule.group}"
        return self.default_group, "no routing rule matched → default group"
