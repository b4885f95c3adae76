"""Follow-up times people type: "7d", "in 2h", "tomorrow 10:00", "fri 15:00", "2026-12-01 09:00", "明天 10:00"."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.replies import UsageError
from handlers.sla.durations import parse_duration
from handlers.sla.format import at

DEFAULT_TIME = time(9, 0)
MAX_AHEAD = timedelta(days=366)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_RELATIVE_DAYS = {"today": 0, "今天": 0, "tomorrow": 1, "tmr": 1, "明天": 1, "后天": 2}
_WEEKDAYS = {name: i for i, names in enumerate((
    ("mon", "monday", "周一", "星期一"), ("tue", "tuesday", "周二", "星期二"), ("wed", "wednesday", "周三", "星期三"),
    ("thu", "thursday", "周四", "星期四"), ("fri", "friday", "周五", "星期五"), ("sat", "saturday", "周六", "星期六"),
    ("sun", "sunday", "周日", "星期日", "星期天")))
    for name in names}


@dataclass(frozen=True)
class When:
    """A parsed, zone-free time: a delay from now, or a day (word or ISO date) and a time of day."""

    delay: timedelta | None = None
    day: str = ""
    clock: time | None = None


def _clock(token: str) -> time | None:
    m = _CLOCK.fullmatch(token)
    if m is None:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise UsageError("sla_err_clock_time", value=token)
    return time(hour, minute)


def _date(token: str) -> date:
    try:
        year, month, day = (int(p) for p in token.split("-"))
        return date(year, month, day)
    except ValueError:
        raise UsageError("sla_err_date", value=token) from None


def parse_when(words: list[str]) -> tuple[When, int]:
    """Read a time from the first words; returns it and how many words it used."""
    if not words:
        raise UsageError("sla_err_remind_usage")
    skip = 1 if words[0].lower() in ("in", "at", "on") and len(words) > 1 else 0
    first = words[skip].lower()
    second = words[skip + 1] if len(words) > skip + 1 else ""
    if first in _RELATIVE_DAYS or first in _WEEKDAYS:
        clock = _clock(second) if second else None
        return When(day=first, clock=clock), skip + 1 + (clock is not None)
    if _DATE.fullmatch(first):
        _date(first)
        clock = _clock(second) if second else None
        return When(day=first, clock=clock), skip + 1 + (clock is not None)
    clock = _clock(first)
    if clock is not None:
        return When(clock=clock), skip + 1
    try:
        delay = parse_duration(first)
    except ValueError:
        raise UsageError("sla_err_when", value=words[skip]) from None
    if delay <= timedelta(0):
        raise UsageError("sla_err_when", value=words[skip])
    return When(delay=delay), skip + 1


def resolve(when: When, now: datetime, tz: str) -> datetime:
    """The UTC instant meant, read in the asker's zone; refused when past or more than a year ahead."""
    zone = ZoneInfo(tz or "UTC")
    if when.delay is not None:
        due = now + when.delay
    else:
        today = now.astimezone(zone).date()
        clock = when.clock or DEFAULT_TIME
        if not when.day:
            day = today
        elif when.day in _RELATIVE_DAYS:
            day = today + timedelta(days=_RELATIVE_DAYS[when.day])
        elif when.day in _WEEKDAYS:
            # The next such weekday (a week ahead when it is today).
            day = today + timedelta(days=(_WEEKDAYS[when.day] - today.weekday() - 1) % 7 + 1)
        else:
            day = _date(when.day)
        due = datetime.combine(day, clock, tzinfo=zone).astimezone(now.tzinfo)
        if not when.day and due <= now:
            due = datetime.combine(day + timedelta(days=1), clock, tzinfo=zone).astimezone(now.tzinfo)
    if due <= now:
        raise UsageError("sla_err_when_past", when=at(due, tz))
    if due - now > MAX_AHEAD:
        raise UsageError("sla_err_when_far", when=at(due, tz))
    return due


def normalize(when: When) -> str:
    """The canonical text of a parsed time (what the Remind command carries)."""
    if when.delay is not None:
        return f"{int(when.delay.total_seconds())}s"
    parts = [when.day] if when.day else []
    if when.clock is not None:
        parts.append(when.clock.strftime("%H:%M"))
    return " ".join(parts)
