"""The SLA rules as plain data: targets per priority, overrides, calendars, alert timings, digests."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta

from handlers.sla.business_time import BusinessCalendar

ALWAYS_OPEN = BusinessCalendar("UTC", always_open=True)


@dataclass(frozen=True)
class Targets:
    """How long a first response and a resolution may take (None: that clock does not run)."""

    first_response: timedelta | None = None
    resolution: timedelta | None = None
    # None: inherit the enclosing setting (override → priority target → [sla]).
    business_hours_only: bool | None = None


@dataclass(frozen=True)
class Override:
    """Targets for tickets of a category and/or group (optionally of one priority); first match wins."""

    targets: Targets
    category: str = ""
    group: str = ""
    priority: str = ""
    # Which of first_response/resolution this override sets; the others fall through.
    sets: frozenset[str] = frozenset()

    def matches(self, priority: str, category: str, group: str) -> bool:
        return ((not self.category or self.category.lower() == category.lower())
                and (not self.group or self.group == group)
                and (not self.priority or self.priority == priority))


@dataclass(frozen=True)
class ResolvedPolicy:
    """What applies to one ticket right now."""

    first_response: timedelta | None
    resolution: timedelta | None
    calendar: BusinessCalendar


@dataclass(frozen=True)
class DigestRecipient:
    """A manager (DM) or a chat (post) that gets the daily digest at its own local time."""

    key: str
    timezone: str
    at: time
    person: str = ""
    platform: str = ""
    chat: str = ""
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlaSettings:
    enabled: bool = True
    targets: Mapping[str, Targets] = field(default_factory=dict, hash=False)
    overrides: tuple[Override, ...] = ()
    # group key → calendar; "" is the calendar of every group not listed
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict, hash=False)
    business_hours_only: bool = False
    warn_at: float | None = 0.75
    reescalate_every: timedelta | None = timedelta(hours=4)
    unclaimed_after: timedelta | None = timedelta(minutes=30)
    auto_close_after: timedelta | None = timedelta(days=3)
    sweep_seconds: float = 5.0
    digest_check_seconds: float = 30.0
    # Person keys who speak for the customer: their reply on a resolved ticket reopens it (a rebound).
    customer_side: tuple[str, ...] = ()
    # Whether the reporter counts as the customer too (off: the reporter is usually the agent who typed /ticket).
    reporter_is_customer: bool = False
    # Zone for times shown in channels whose group has no calendar (the desk's time zone).
    display_timezone: str = "UTC"
    digests: tuple[DigestRecipient, ...] = ()
    digest_top: int = 3
    digest_oldest: int = 5

    @property
    def late_grace(self) -> timedelta:
        """An alert fired later than this after its instant says it is late (the bot was down)."""
        return max(timedelta(seconds=60), timedelta(seconds=3 * self.sweep_seconds))

    def calendar_for(self, group: str) -> BusinessCalendar | None:
        return self.calendars.get(group) or self.calendars.get("")

    def display_zone(self, group: str) -> str:
        cal = self.calendar_for(group)
        return cal.tz if cal is not None and not cal.always_open else self.display_timezone

    def policy_for(self, priority: str, category: str, group: str) -> ResolvedPolicy:
        """Targets for a ticket: first matching override per clock, else its priority's target."""
        base = self.targets.get(priority, Targets())
        values: dict[str, object] = {}
        for override in self.overrides:
            if not override.matches(priority, category, group):
                continue
            for name in ("first_response", "resolution", "business_hours_only"):
                if name in override.sets and name not in values:
                    values[name] = getattr(override.targets, name)
        for name in ("first_response", "resolution", "business_hours_only"):
            if name not in values and getattr(base, name) is not None:
                values[name] = getattr(base, name)
        business = values.get("business_hours_only")
        business = self.business_hours_only if business is None else business
        calendar = self.calendar_for(group) if business else None
        return ResolvedPolicy(
            first_response=values.get("first_response"),  # type: ignore[arg-type]
            resolution=values.get("resolution"),  # type: ignore[arg-type]
            calendar=calendar or ALWAYS_OPEN,
        )
