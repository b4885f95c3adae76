"""parse_duration / format_duration against hand-worked values."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from handlers.sla.durations import format_duration, parse_duration

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", 30 * M),
        ("4h", 4 * H),
        ("2d", 48 * H),  # a "d" is 24 clock hours, not a business day
        ("90s", timedelta(seconds=90)),
        ("1h30m", 90 * M),  # 60 + 30
        ("1d 4h", 28 * H),  # 24 + 4
        ("1d4h30m15s", timedelta(hours=28, minutes=30, seconds=15)),
        ("4H", 4 * H),
        ("  1H 30M ", 90 * M),
        ("1 hour 30 minutes", 90 * M),
        ("1 hr, 15 mins", 75 * M),
        ("2 days", 48 * H),
        ("1w", 7 * 24 * H),
        ("1.5h", 90 * M),  # 1.5 × 60
        ("0.25d", 6 * H),  # 0.25 × 24
        ("0m", timedelta(0)),
        ("-1h", -H),  # accepted so format_duration output round-trips
        ("30分钟", 30 * M),
        ("4小时", 4 * H),
        ("4个小时", 4 * H),
        ("2天", 48 * H),
        ("1小时30分钟", 90 * M),
        ("1天 4小时", 28 * H),
        ("45秒", timedelta(seconds=45)),
        ("４小时", 4 * H),  # full-width digit from a Chinese IME
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4x", "'4x' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
        ("45", "'45' is not a duration — add a unit, e.g. 45m or 45s"),
        ("1.5", "'1.5' is not a duration — add a unit, e.g. 1.5m or 1.5s"),
        ("", "'' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
        ("h", "'h' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
        ("1h30", "'1h30' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
        ("1 month", "'1 month' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
        ("--1h", "'--1h' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
        ("1h 2h", "'1h 2h' gives the same unit twice — use e.g. 30m, 4h, 2d or 1h30m"),
        ("99999999999w", "'99999999999w' is too long a duration"),
    ],
)
def test_parse_duration_rejects_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_duration(text)


def test_different_units_may_overflow_each_other() -> None:
    # 1h + 60min = 60 + 60 minutes: unusual but unambiguous, so it is summed.
    assert parse_duration("1h 60min") == 2 * H


def test_parse_duration_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(0), "0m"),
        (30 * M, "30m"),
        (timedelta(seconds=45), "45s"),
        (28 * H, "1d 4h"),  # 28h = 1 × 24 + 4
        (90 * M, "1h 30m"),
        (timedelta(days=1, seconds=5), "1d 5s"),  # zero parts are left out
        (-H, "-1h"),
        (-(90 * M), "-1h 30m"),
        (timedelta(seconds=59, microseconds=999_999), "59s"),  # sub-seconds truncated
        (timedelta(microseconds=-1), "0m"),  # truncates toward zero, no "-0m"
        (timedelta(days=30), "30d"),
    ],
)
def test_format_duration(td: timedelta, text: str) -> None:
    assert format_duration(td) == text


@pytest.mark.parametrize(
    "td",
    [timedelta(0), 30 * M, 4 * H, 28 * H, timedelta(days=3, hours=2, minutes=7, seconds=9), -(90 * M)],
)
def test_format_then_parse_round_trips(td: timedelta) -> None:
    assert parse_duration(format_duration(td)) == td
