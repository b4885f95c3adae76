"""How SLA messages show instants and spans: in the reader's zone, to the minute."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers import texts as _texts
from handlers.sla import texts as _sla_texts  # noqa: F401  (registers the sla_ keys)
from handlers.sla.durations import format_duration


def at(instant: datetime | None, tz: str) -> str:
    """'2026-11-02 13:00 CST' in the given zone ('—' for none)."""
    if instant is None:
        return "—"
    local = instant.astimezone(ZoneInfo(tz or "UTC"))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def span(delta: timedelta) -> str:
    """A duration to the minute: '1h 15m', '2d 3h', '0m'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    return format_duration(timedelta(minutes=minutes))


def word(key: str, **params: Any) -> str:
    """A phrase from the texts (plain: the outer sentence is escaped by the renderer)."""
    return _texts.render(key, params)


def clock_name(clock: str) -> str:
    return word(f"sla_clock_{clock}")
