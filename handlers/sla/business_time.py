"""Working-time arithmetic for SLA clocks: business calendars, deadlines, pauses, and the names of clock states.

Which state a clock is in (and when it turns due soon) is decided in one place, `SlaClock.state` in
handlers/sla/clocks.py, from the same business-time warn instant the reminder uses.

Every instant crossing this module's boundary is a timezone-aware datetime (returned in UTC);
the calendar's own zone is only used inside, to turn each local working day into UTC spans.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, UTC
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessCalendar",
    "ClockState",
    "Pause",
    "add_business_time",
    "business_time_between",
    "deadline_with_pauses",
    "elapsed_with_pauses",
]

_UTC = UTC
_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MIDNIGHT = time(0)
_TINY = timedelta(microseconds=1)
# How long a search may run through days without any working hours before we decide the
# calendar (holidays included) can never satisfy the request.
_SEARCH_LIMIT_DAYS = 3 * 366

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_KEYS = {name: i for i, name in enumerate(_DAY_NAMES)} | {
    full: i
    for i, full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
_RANGE_RE = re.compile(r"(\d{1,2}):(\d{2})\s*[-–—~～]\s*(\d{1,2}):(\d{2})", re.ASCII)
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CLOSED = {"", "closed", "off"}

Interval = tuple[time, time]


def _hhmm(t: time, is_end: bool = False) -> str:
    if is_end and t == _MIDNIGHT:
        return "24:00"
    return t.strftime("%H:%M") if not (t.second or t.microsecond) else t.isoformat()


def _length(start: time, end: time) -> timedelta:
    """Wall-clock length of an interval whose end time(0, 0) means 24:00."""
    end_s = 86400 if end == _MIDNIGHT else end.hour * 3600 + end.minute * 60 + end.second
    start_s = start.hour * 3600 + start.minute * 60 + start.second
    return timedelta(seconds=end_s - start_s, microseconds=end.microsecond - start.microsecond)


class _ReadOnlyHours(Mapping[int, tuple[Interval, ...]]):
    """A read-only, picklable view of weekly hours (MappingProxyType cannot be pickled)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[int, tuple[Interval, ...]]) -> None:
        self._data = data

    def __getitem__(self, key: int) -> tuple[Interval, ...]:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self):
        return (_ReadOnlyHours, (self._data,))


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: weekly hours in a local zone, minus holidays (or always open)."""

    tz: str
    # weekday (0 = Monday) → sorted, non-overlapping (start, end) local intervals; an end of
    # time(0, 0) means 24:00. Stored read-only; left out of the hash as mappings are unhashable.
    hours: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict, hash=False)
    # Local calendar dates on which nobody works, whatever the weekday.
    holidays: frozenset[date] = frozenset()
    # 24/7 wall-clock SLA: hours and holidays are ignored, durations are plain real time.
    always_open: bool = False
    _sorted_holidays: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _week: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tz, str):
            raise ValueError(f"time zone must be an IANA name like 'Asia/Shanghai', got {self.tz!r}")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone '{self.tz}'") from None

        normalized: dict[int, tuple[Interval, ...]] = {}
        for weekday, intervals in dict(self.hours).items():
            if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
                raise ValueError(f"working-hours key {weekday!r} is not a weekday number 0 (Mon) to 6 (Sun)")
            name = _DAY_NAMES[weekday]
            checked: list[Interval] = []
            for pair in intervals:
                try:
                    start, end = pair
                except (TypeError, ValueError):
                    raise ValueError(f"working hours for {name} must be (start, end) pairs, got {pair!r}") from None
                if not (isinstance(start, time) and isinstance(end, time)):
                    raise ValueError(f"working hours for {name} must be datetime.time pairs, got {pair!r}")
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"working hours for {name} must be naive local times, got {pair!r}")
                if _length(start, end) <= _ZERO:
                    raise ValueError(
                        f"working hours {_hhmm(start)}-{_hhmm(end, True)} for {name} must end after they"
                        " start — overnight shifts must be split at midnight"
                    )
                checked.append((start, end))
            checked.sort()
            for (s1, e1), (s2, e2) in zip(checked, checked[1:], strict=False):
                # Touching intervals (12:00-13:00, 13:00-18:00) are fine; only real overlap is not.
                if e1 == _MIDNIGHT or e1 > s2:
                    raise ValueError(
                        f"working hours {_hhmm(s1)}-{_hhmm(e1, True)} and {_hhmm(s2)}-{_hhmm(e2, True)}"
                        f" for {name} overlap"
                    )
            if checked:
                normalized[weekday] = tuple(checked)
        if not normalized and not self.always_open:
            raise ValueError(
                "the calendar has no working hours on any day — give at least one range"
                " such as mon: 09:00-18:00, or make it always open"
            )

        holidays = frozenset(self.holidays)
        for day in holidays:
            # datetime is a subclass of date; a datetime here would silently never match.
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"holiday {day!r} is not a datetime.date")

        object.__setattr__(self, "hours", _ReadOnlyHours(normalized))
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "always_open", bool(self.always_open))
        object.__setattr__(self, "_sorted_holidays", tuple(sorted(holidays)))
        object.__setattr__(
            self, "_week", sum((_length(s, e) for ivs in normalized.values() for s, e in ivs), _ZERO)
        )

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's ZoneInfo (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.tz)

    @classmethod
    def from_config(
        cls,
        tz: str,
        hours: Mapping[str, str | Sequence[str] | None],
        holidays: Iterable[str | date] = (),
        *,
        always_open: bool = False,
    ) -> BusinessCalendar:
        """Build from config: {"mon": "09:00-18:00", "sat": ["10:00-12:00", "13:00-16:00"], "sun": "closed"}."""
        if not isinstance(hours, Mapping):
            raise ValueError(f"working hours must map weekdays to ranges, e.g. {{'mon': '09:00-18:00'}}, got {hours!r}")
        parsed: dict[int, tuple[Interval, ...]] = {}
        for key, value in hours.items():
            weekday = _DAY_KEYS.get(str(key).strip().lower())
            if weekday is None:
                raise ValueError(
                    f"unknown weekday '{key}' in working hours — use mon, tue, wed, thu, fri, sat or sun"
                )
            if weekday in parsed:
                raise ValueError(f"working hours for {_DAY_NAMES[weekday]} are given twice")
            parsed[weekday] = _parse_day(_DAY_NAMES[weekday], value)

        days: list[date] = []
        for raw in holidays:
            if isinstance(raw, date) and not isinstance(raw, datetime):
                days.append(raw)
                continue
            text = raw.strip() if isinstance(raw, str) else raw
            try:
                if not isinstance(text, str) or not _ISO_DATE_RE.fullmatch(text):
                    raise ValueError
                days.append(date.fromisoformat(text))
            except ValueError:
                raise ValueError(f"invalid holiday '{raw}' — use YYYY-MM-DD, e.g. 2026-10-01") from None

        return cls(tz=tz, hours=parsed, holidays=frozenset(days), always_open=always_open)


def _parse_day(name: str, value: str | Sequence[str] | None) -> tuple[Interval, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        if value.strip().lower() in _CLOSED:
            return ()
        items: Sequence[object] = [value]
    elif isinstance(value, Sequence):
        items = value
    else:
        raise ValueError(
            f"working hours for {name} must be a range like '09:00-18:00' or a list of them, got {value!r}"
        )
    out: list[Interval] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"working hours for {name} must be ranges like '09:00-18:00', got {item!r}")
        out.append(_parse_range(name, item))
    seen = sorted(out)
    for (s1, e1), (s2, e2) in zip(seen, seen[1:], strict=False):
        if e1 == _MIDNIGHT or e1 > s2:
            raise ValueError(
                f"working hours '{_hhmm(s1)}-{_hhmm(e1, True)}' and '{_hhmm(s2)}-{_hhmm(e2, True)}'"
                f" for {name} overlap"
            )
    return tuple(out)


def _parse_range(name: str, text: str) -> Interval:
    match = _RANGE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid working hours '{text}' for {name} — use HH:MM-HH:MM, e.g. 09:00-18:00")
    sh, sm, eh, em = (int(g) for g in match.groups())
    if not (sh <= 23 and sm <= 59 and em <= 59 and (eh <= 23 or (eh, em) == (24, 0))):
        raise ValueError(
            f"invalid working hours '{text}' for {name} — hours run 00-23 and minutes 00-59"
            " (24:00 is allowed only as an end)"
        )
    if (eh, em) == (0, 0):
        # "00:00" as an end is ambiguous (closed? whole day?), so ask for the explicit form.
        raise ValueError(f"working hours '{text}' for {name} end at 00:00 — write 24:00 for the end of the day")
    start, end = time(sh, sm), time(0) if eh == 24 else time(eh, em)
    if _length(start, end) == _ZERO:
        raise ValueError(f"working hours '{text}' for {name} are empty — use 'closed' for a day off")
    if _length(start, end) < _ZERO:
        raise ValueError(
            f"working hours '{text}' for {name} end before they start — overnight shifts must be"
            f" split at midnight, e.g. {name}: {_hhmm(start)}-24:00 and the next day 00:00-{_hhmm(end)}"
        )
    return start, end


@dataclass(frozen=True)
class Pause:
    """A span during which an SLA clock does not run; end None means still paused."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        start = _utc(self.start, "pause start")
        end = None if self.end is None else _utc(self.end, "pause end")
        if end is not None and end < start:
            raise ValueError(f"pause ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


class ClockState(StrEnum):
    """Where an SLA clock stands; values are stable strings for views and storage."""

    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"
    PAUSED = "paused"


# ---------------------------------------------------------------------------------------------
# Local wall time → UTC


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(_UTC)


def _wall_to_utc(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The first instant at which the local wall clock reads `day at` or later.

    One rule for every endpoint keeps adjacent intervals (…-24:00, 00:00-…) seamless and
    makes an interval last exactly the real time between its two instants:
    - ordinary times map one-to-one;
    - a repeated time (clocks going back) maps to its first occurrence (fold=0);
    - a skipped time (clocks going forward) maps to the transition itself, because that is
      when the wall clock first shows a time at or past it.
    """
    naive = datetime.combine(day, at)
    guess = naive.replace(tzinfo=zone).astimezone(_UTC)
    if guess.astimezone(zone).replace(tzinfo=None) == naive:
        return guess
    # Skipped time: fold=1 lands before the transition and fold=0 after it; bisect between.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(_UTC)
    hi = guess
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > _TINY:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def _day_spans(cal: BusinessCalendar, zone: ZoneInfo, day: date) -> list[tuple[datetime, datetime]]:
    """The day's working intervals as UTC [start, end) spans, in order (empty on holidays)."""
    if day in cal.holidays:
        return []
    spans = []
    for start, end in cal.hours.get(day.weekday(), ()):
        s = _wall_to_utc(zone, day, start)
        e = _wall_to_utc(zone, day + _DAY, _MIDNIGHT) if end == _MIDNIGHT else _wall_to_utc(zone, day, end)
        if e > s:  # an interval lying wholly inside a skipped hour has no real time
            spans.append((s, e))
    return spans


def _midnight(zone: ZoneInfo, day: date) -> datetime:
    return _wall_to_utc(zone, day, _MIDNIGHT)


def _regular_week(cal: BusinessCalendar, zone: ZoneInfo, day: date) -> bool:
    """True when the 7 local days from `day` hold exactly the nominal week of working time.

    That needs no holiday in the week and one UTC offset throughout. The offset is sampled
    at each local midnight; a zone changing offset and back within a single day does not exist.
    """
    i = bisect.bisect_left(cal._sorted_holidays, day)
    if i < len(cal._sorted_holidays) and cal._sorted_holidays[i] < day + _WEEK:
        return False
    offset = datetime.combine(day, _MIDNIGHT, tzinfo=zone).utcoffset()
    return all(
        datetime.combine(day + timedelta(days=k), _MIDNIGHT, tzinfo=zone).utcoffset() == offset
        for k in range(1, 8)
    )


# ---------------------------------------------------------------------------------------------
# Pauses as UTC blackouts


_Blackout = tuple[datetime, datetime | None]


def _merge(pauses: Iterable[Pause]) -> list[_Blackout]:
    """Sorted, merged pause spans; an open pause swallows everything after its start."""
    merged: list[_Blackout] = []
    items = list(pauses)
    for pause in items:
        if not isinstance(pause, Pause):
            raise ValueError(f"expected a Pause, got {pause!r}")
    for pause in sorted(items, key=lambda p: p.start):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break
            if pause.start <= last_end:
                merged[-1] = (last_start, None if pause.end is None else max(last_end, pause.end))
                continue
        merged.append((pause.start, pause.end))
    return merged


class _Blackouts:
    """Forward-only cursor over merged pauses (callers only ever move forward in time)."""

    def __init__(self, items: list[_Blackout]) -> None:
        self.items = items
        self.i = 0

    def _sync(self, t: datetime) -> None:
        items = self.items
        while self.i < len(items) and items[self.i][1] is not None and items[self.i][1] <= t:
            self.i += 1

    def covering(self, t: datetime) -> _Blackout | None:
        """The pause in force at instant t, if any."""
        self._sync(t)
        if self.i < len(self.items) and self.items[self.i][0] <= t:
            return self.items[self.i]
        return None

    def overlaps(self, a: datetime, b: datetime) -> bool:
        self._sync(a)
        return self.i < len(self.items) and self.items[self.i][0] < b

    def free(self, s: datetime, e: datetime) -> list[tuple[datetime, datetime]]:
        """Pieces of [s, e) not covered by any pause."""
        self._sync(s)
        pieces = []
        cur = s
        for bs, be in self.items[self.i :]:
            if bs >= e:
                break
            if bs > cur:
                pieces.append((cur, bs))
            if be is None:
                return pieces
            cur = max(cur, be)
            if cur >= e:
                return pieces
        if cur < e:
            pieces.append((cur, e))
        return pieces


# ---------------------------------------------------------------------------------------------
# The two walkers everything else is built on


def _advance(cal: BusinessCalendar, start: datetime, amount: timedelta, pauses: list[_Blackout]) -> datetime | None:
    """The instant `amount` of unpaused working time has run after `start`; None if never."""
    if amount < _ZERO:
        raise ValueError(f"an SLA duration cannot be negative, got {amount}")
    if amount == _ZERO:
        return start
    blackouts = _Blackouts(pauses)
    remaining = amount

    if cal.always_open:
        for piece_start, piece_end in _open_pieces(blackouts, start):
            if piece_end is None or remaining <= piece_end - piece_start:
                return piece_start + remaining
            remaining -= piece_end - piece_start
        return None

    zone = cal.zone
    week = cal._week
    # Start a day early: with clocks going back at midnight, the previous local date's last
    # interval can still be running at `start`.
    day = start.astimezone(zone).date() - _DAY
    cursor = start
    idle_days = 0
    try:
        while True:
            pause = blackouts.covering(cursor)
            if pause is not None:
                if pause[1] is None:
                    return None  # paused for good from here on: the clock is frozen
                # Jump over a long pause instead of walking through its days.
                cursor = pause[1]
                day = max(day, cursor.astimezone(zone).date() - _DAY)
                idle_days = 0
                continue

            if remaining > week:
                # Whole regular weeks cost the same everywhere: skip them arithmetically.
                week_start = _midnight(zone, day)
                week_end = _midnight(zone, day + _WEEK)
                if (
                    week_start >= cursor
                    and _regular_week(cal, zone, day)
                    and not blackouts.overlaps(week_start, week_end)
                ):
                    remaining -= week
                    cursor = week_end
                    day += _WEEK
                    idle_days = 0
                    continue

            spans = _day_spans(cal, zone, day)
            idle_days = 0 if spans else idle_days + 1
            if idle_days > _SEARCH_LIMIT_DAYS:
                raise ValueError(
                    f"the calendar has no working time in the 3 years after {start.isoformat()}"
                    " — check its holidays"
                )
            for span_start, span_end in spans:
                if span_end <= cursor:
                    continue
                for piece_start, piece_end in blackouts.free(max(span_start, cursor), span_end):
                    if remaining <= piece_end - piece_start:
                        return piece_start + remaining
                    remaining -= piece_end - piece_start
                cursor = span_end
            day += _DAY
    except OverflowError:
        raise ValueError(f"the deadline for {amount} after {start.isoformat()} is beyond year 9999") from None


def _measure(cal: BusinessCalendar, a: datetime, b: datetime, pauses: list[_Blackout]) -> timedelta:
    """Unpaused working time within [a, b)."""
    if b <= a:
        return _ZERO
    blackouts = _Blackouts(pauses)
    if cal.always_open:
        total = _ZERO
        for piece_start, piece_end in _open_pieces(blackouts, a):
            if piece_start >= b:
                break
            total += min(b, piece_end or b) - piece_start
        return total

    zone = cal.zone
    day = a.astimezone(zone).date() - _DAY
    last_day = b.astimezone(zone).date()
    cursor = a
    total = _ZERO
    while day <= last_day and cursor < b:
        pause = blackouts.covering(cursor)
        if pause is not None:
            if pause[1] is None:
                break
            cursor = pause[1]
            day = max(day, cursor.astimezone(zone).date() - _DAY)
            continue

        if (last_day - day).days >= 7:
            week_start = _midnight(zone, day)
            week_end = _midnight(zone, day + _WEEK)
            if (
                cursor <= week_start
                and week_end <= b
                and _regular_week(cal, zone, day)
                and not blackouts.overlaps(week_start, week_end)
            ):
                total += cal._week
                cursor = week_end
                day += _WEEK
                continue

        for span_start, span_end in _day_spans(cal, zone, day):
            if span_end <= cursor:
                continue
            if span_start >= b:
                break
            for piece_start, piece_end in blackouts.free(max(span_start, cursor), min(span_end, b)):
                total += piece_end - piece_start
            cursor = min(span_end, b)
        day += _DAY
    return total


def _open_pieces(blackouts: _Blackouts, start: datetime):
    """Unpaused pieces of [start, ∞) for a 24/7 calendar; the last piece may be open-ended."""
    cursor = start
    for bs, be in blackouts.items:
        if be is not None and be <= cursor:
            continue
        if bs > cursor:
            yield cursor, bs
        if be is None:
            return
        cursor = max(cursor, be)
    yield cursor, None


# ---------------------------------------------------------------------------------------------
# Public API


def add_business_time(cal: BusinessCalendar, start_utc: datetime, duration: timedelta) -> datetime:
    """The UTC instant at which `duration` of working time has elapsed after `start_utc`."""
    start = _utc(start_utc, "start")
    due = _advance(cal, start, duration, [])
    assert due is not None  # only an open pause can make a deadline unreachable
    return due


def business_time_between(cal: BusinessCalendar, start_utc: datetime, end_utc: datetime) -> timedelta:
    """Working time elapsed between two instants (zero if end <= start)."""
    return _measure(cal, _utc(start_utc, "start"), _utc(end_utc, "end"), [])


def deadline_with_pauses(
    cal: BusinessCalendar,
    start_utc: datetime,
    target: timedelta,
    pauses: Sequence[Pause],
    now_utc: datetime,
) -> datetime | None:
    """Due instant of a clock needing `target` working time that stops during pauses; None while frozen."""
    # An open pause freezes the clock, so there is no deadline — unless the target was already
    # used up before that pause began: that deadline is in the past and fixed, and returning it
    # keeps a breach visible instead of hiding it behind the pause.
    start = _utc(start_utc, "start")
    # now_utc does not change the answer (pauses carry their own times); it is validated so a
    # naive "now" is caught here like everywhere else.
    _utc(now_utc, "now")
    return _advance(cal, start, target, _merge(pauses))


def elapsed_with_pauses(
    cal: BusinessCalendar, start_utc: datetime, now_utc: datetime, pauses: Sequence[Pause]
) -> timedelta:
    """Working time consumed between start and now, excluding pauses (an open pause runs to now)."""
    return _measure(cal, _utc(start_utc, "start"), _utc(now_utc, "now"), _merge(pauses))
