"""Human duration strings ("4h", "1h30m", "2天") ↔ timedelta, for SLA targets typed by people."""
from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration", "format_duration"]

_US_PER_S = 1_000_000

# Longest spellings first so the regex alternation prefers "mins" over "m" and "分钟" over "分".
# "d" is a 24-hour day of working time, not a business day: "2d" on a 9h-a-day calendar
# lasts more than five working days. "m" is always minutes (months are not SLA units).
_UNITS: dict[str, int] = {}
for _seconds, _names in (
    (1, ("s", "sec", "secs", "second", "seconds", "秒", "秒钟")),
    (60, ("m", "min", "mins", "minute", "minutes", "分", "分钟")),
    (3600, ("h", "hr", "hrs", "hour", "hours", "小时", "个小时", "钟头", "个钟头")),
    (86400, ("d", "day", "days", "天")),
    (7 * 86400, ("w", "wk", "wks", "week", "weeks", "周", "星期", "个星期")),
):
    for _name in _names:
        _UNITS[_name] = _seconds * _US_PER_S

_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
# The lookahead stops "1hx" from being read as "1h" followed by junk that happens to match later.
_TOKEN = re.compile(rf"(\d+)(?:\.(\d+))?\s*({_UNIT_ALT})(?![a-z])")
_SEPARATORS = re.compile(r"[\s,，]*")
_BARE_NUMBER = re.compile(r"[+-]?\s*\d+(?:\.\d+)?")

_EXAMPLES = "use e.g. 30m, 4h, 2d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse "30m", "4h", "1h30m", "1d 4h", "1.5h", "2天" (case-insensitive) into a timedelta."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration — {_EXAMPLES}")
    cleaned = text.strip().lower()
    if _BARE_NUMBER.fullmatch(cleaned):
        # A bare number is the most likely typo ("45" meaning minutes or seconds?), so say so.
        number = cleaned.lstrip("+-").strip()
        raise ValueError(f"'{text.strip()}' is not a duration — add a unit, e.g. {number}m or {number}s")

    sign = 1
    pos = 0
    if cleaned[:1] in ("+", "-"):
        # Accepted so that format_duration's "-1h" round-trips; callers that need a positive
        # target must check it themselves.
        sign = -1 if cleaned[0] == "-" else 1
        pos = 1

    total_us = 0
    seen: set[int] = set()
    while True:
        pos = _SEPARATORS.match(cleaned, pos).end()
        if pos == len(cleaned):
            break
        match = _TOKEN.match(cleaned, pos)
        if match is None:
            raise ValueError(f"'{text.strip()}' is not a duration — {_EXAMPLES}")
        whole, frac, unit = match.groups()
        unit_us = _UNITS[unit]
        if unit_us in seen:
            # "1h 2h" is almost certainly a typo; silently summing would hide it.
            raise ValueError(f"'{text.strip()}' gives the same unit twice — {_EXAMPLES}")
        seen.add(unit_us)
        frac = frac or ""
        # Integer arithmetic keeps "1.1h" exact instead of inheriting float rounding.
        total_us += int(whole + frac) * unit_us // 10 ** len(frac)
        pos = match.end()

    if not seen:
        raise ValueError(f"'{text.strip()}' is not a duration — {_EXAMPLES}")
    try:
        return timedelta(microseconds=sign * total_us)
    except OverflowError:
        raise ValueError(f"'{text.strip()}' is too long a duration") from None


def format_duration(td: timedelta) -> str:
    """Compact form parse_duration accepts: "1d 4h", "30m", "45s", "0m" for zero, "-1h" if negative."""
    negative = td < timedelta(0)
    if negative:
        td = -td
    # Sub-second remainders are dropped (truncated toward zero): SLA displays never show them.
    seconds = td.days * 86400 + td.seconds
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    if not parts:
        return "0m"
    return ("-" if negative else "") + " ".join(parts)
