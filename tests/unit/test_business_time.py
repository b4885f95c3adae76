"""Business-time SLA math against hand-worked examples (each test shows its arithmetic).

Calendar facts used below: 2026-01-16 is a Friday, 2026-01-19 a Monday; 2026-10-01 a
Thursday; Berlin springs forward 2026-03-29 02:00→03:00 and falls back 2026-10-25
03:00→02:00; New York springs forward 2026-03-08 02:00→03:00. Shanghai is UTC+8 all year.
"""
from __future__ import annotations

import pickle
import re
import time as perf
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import handlers.sla.business_time as bt
from handlers.sla import (
    BusinessCalendar,
    Pause,
    add_business_time,
    business_time_between,
    deadline_with_pauses,
    elapsed_with_pauses,
)

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = WEEKDAYS + ("sat", "sun")


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def weekdays(
    tz: str, rng: str | list[str] = "09:00-18:00", holidays: list[str] | None = None, **extra: str
) -> BusinessCalendar:
    """Mon–Fri `rng` in `tz`, plus any extra days given as keywords (sat="10:00-16:00")."""
    return BusinessCalendar.from_config(tz, {d: rng for d in WEEKDAYS} | extra, holidays or [])


SHANGHAI = weekdays("Asia/Shanghai")  # Mon–Fri 09:00–18:00 = 9h a day, 45h a week
SHANGHAI_SAT = weekdays("Asia/Shanghai", sat="10:00-16:00")
SHANGHAI_LUNCH = weekdays("Asia/Shanghai", rng=["09:00-12:00", "13:00-18:00"])
NATIONAL_DAY = [f"2026-10-0{d}" for d in range(1, 8)]


# --- add_business_time: Shanghai ---------------------------------------------------------------


def test_friday_afternoon_ticket_is_due_monday_noon() -> None:
    # Fri 17:00 + 4h: Fri 17:00–18:00 = 1h, Mon 09:00–12:00 = 3h → Mon 12:00 CST = 04:00 UTC
    due = add_business_time(SHANGHAI, sh(2026, 1, 16, 17), 4 * H)
    assert due == utc(2026, 1, 19, 4)
    assert due.tzinfo is UTC


def test_saturday_night_ticket_starts_monday_morning() -> None:
    # Sat 22:00: nothing open until Mon 09:00; + 1h → Mon 10:00 CST = 02:00 UTC
    start = sh(2026, 1, 17, 22)
    assert add_business_time(SHANGHAI, start, H) == utc(2026, 1, 19, 2)
    assert business_time_between(SHANGHAI, start, sh(2026, 1, 19, 9)) == timedelta(0)


@pytest.mark.parametrize(
    ("start", "duration", "due", "why"),
    [
        (sh(2026, 1, 19, 10), 2 * H, sh(2026, 1, 19, 12), "10:00 + 2h inside the day"),
        (sh(2026, 1, 19, 8), 30 * M, sh(2026, 1, 19, 9, 30), "before opening: 09:00 + 30m"),
        (sh(2026, 1, 19, 9), 9 * H, sh(2026, 1, 19, 18), "a full day ends at 18:00, not next 09:00"),
        (sh(2026, 1, 19, 18), H, sh(2026, 1, 20, 10), "at closing: Tue 09:00 + 1h"),
        (sh(2026, 1, 19, 17), 10 * H, sh(2026, 1, 20, 18), "Mon 17–18 1h + Tue 09–18 9h → Tue 18:00"),
        (sh(2026, 1, 19, 12), timedelta(0), sh(2026, 1, 19, 12), "zero target: due at start"),
    ],
)
def test_add_business_time_within_the_week(start: datetime, duration: timedelta, due: datetime, why: str) -> None:
    assert add_business_time(SHANGHAI, start, duration) == due, why


def test_lunch_break_is_not_counted() -> None:
    # Mon 11:00 + 2h with 12:00–13:00 off: 11:00–12:00 = 1h, 13:00–14:00 = 1h → 14:00 CST = 06:00 UTC
    assert add_business_time(SHANGHAI_LUNCH, sh(2026, 1, 19, 11), 2 * H) == utc(2026, 1, 19, 6)
    # A ticket raised during lunch starts at 13:00: + 1h → 14:00 CST
    assert add_business_time(SHANGHAI_LUNCH, sh(2026, 1, 19, 12, 30), H) == utc(2026, 1, 19, 6)
    # 09:00–18:00 with lunch off is 8h of working time
    assert business_time_between(SHANGHAI_LUNCH, sh(2026, 1, 19, 9), sh(2026, 1, 19, 18)) == 8 * H


def test_saturday_hours_count() -> None:
    # Fri 17:00 + 4h with Sat 10:00–16:00: Fri 1h + Sat 10:00–13:00 3h → Sat 13:00 CST = 05:00 UTC
    assert add_business_time(SHANGHAI_SAT, sh(2026, 1, 16, 17), 4 * H) == utc(2026, 1, 17, 5)
    # Sat 15:00 + 2h: Sat 15:00–16:00 1h, Sunday closed, Mon 09:00–10:00 1h → Mon 10:00 CST = 02:00 UTC
    assert add_business_time(SHANGHAI_SAT, sh(2026, 1, 17, 15), 2 * H) == utc(2026, 1, 19, 2)


def test_monday_holiday_pushes_to_tuesday() -> None:
    # Fri 17:00 + 4h, Mon 19 Jan off: Fri 1h + Tue 09:00–12:00 3h → Tue 12:00 CST = 04:00 UTC
    cal = weekdays("Asia/Shanghai", holidays=["2026-01-19"])
    assert add_business_time(cal, sh(2026, 1, 16, 17), 4 * H) == utc(2026, 1, 20, 4)


def test_national_day_week() -> None:
    cal = weekdays("Asia/Shanghai", holidays=NATIONAL_DAY, sat="10:00-16:00")
    # Wed 30 Sep 17:00 + 4h: Wed 1h; Thu 1 – Wed 7 Oct off (Sat 3 Oct too, though Saturdays
    # are normally worked); Thu 8 Oct 09:00–12:00 3h → 12:00 CST = 04:00 UTC
    assert add_business_time(cal, sh(2026, 9, 30, 17), 4 * H) == utc(2026, 10, 8, 4)
    # Wed 30 Sep 09:00 → Fri 9 Oct 09:00: Wed 9h + Thu 8 Oct 9h = 18h
    assert business_time_between(cal, sh(2026, 9, 30, 9), sh(2026, 10, 9, 9)) == 18 * H


# --- DST ------------------------------------------------------------------------------------------


def test_berlin_24_7_spring_forward_counts_real_hours() -> None:
    # Sat 28 Mar 23:00 CET = 22:00 UTC; + 4 real hours = 02:00 UTC = 04:00 CEST: the wall
    # clock moved 5h because 02:00–03:00 never happened.
    start = datetime(2026, 3, 28, 23, tzinfo=BERLIN)
    always = BusinessCalendar.from_config("Europe/Berlin", {}, [], always_open=True)
    round_the_clock = BusinessCalendar.from_config("Europe/Berlin", {d: "00:00-24:00" for d in ALL_DAYS}, [])
    for cal in (always, round_the_clock):
        due = add_business_time(cal, start, 4 * H)
        assert due == utc(2026, 3, 29, 2)
        assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 4)
        assert business_time_between(cal, start, due) == 4 * H


def test_berlin_dst_days_are_23_and_25_hours_long() -> None:
    cal = BusinessCalendar.from_config("Europe/Berlin", {d: "00:00-24:00" for d in ALL_DAYS}, [])
    # Sun 29 Mar: 00:00 CET (Sat 23:00 UTC) → Mon 00:00 CEST (Sun 22:00 UTC) = 23h
    sunday = business_time_between(
        cal, datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    )
    assert sunday == 23 * H
    # ...while 48 real hours across the switch are still 48h of working time
    assert business_time_between(cal, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12)) == 48 * H
    # Sun 25 Oct: 00:00 CEST (Sat 22:00 UTC) → Mon 00:00 CET (Sun 23:00 UTC) = 25h
    sunday = business_time_between(
        cal, datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)
    )
    assert sunday == 25 * H


def test_berlin_business_week_across_the_switch() -> None:
    # Fri 27 Mar 16:00 CET (15:00 UTC) + 4h: Fri 16:00–18:00 2h; Mon 30 Mar 09:00–11:00 CEST
    # 2h → 11:00 CEST = 09:00 UTC (the offset changed over the weekend, the hours did not)
    cal = weekdays("Europe/Berlin")
    assert add_business_time(cal, datetime(2026, 3, 27, 16, tzinfo=BERLIN), 4 * H) == utc(2026, 3, 30, 9)


@pytest.mark.parametrize(
    ("sunday_hours", "day", "real"),
    [
        # 01:00 CET (00:00 UTC) → 04:00 CEST (02:00 UTC): 3 wall hours, 2 real
        ("01:00-04:00", date(2026, 3, 29), 2 * H),
        # 02:30 does not exist; the shift opens when the clock jumps (03:00 CEST = 01:00 UTC)
        # → 05:00 CEST (03:00 UTC) = 2h instead of the usual 2.5h
        ("02:30-05:00", date(2026, 3, 29), 2 * H),
        ("02:30-05:00", date(2026, 3, 22), 150 * M),  # an ordinary Sunday for comparison
        # 01:00 CEST (Sat 23:00 UTC) → 04:00 CET (03:00 UTC): 3 wall hours, 4 real
        ("01:00-04:00", date(2026, 10, 25), 4 * H),
    ],
)
def test_berlin_shift_inside_a_dst_change_counts_real_time(sunday_hours: str, day: date, real: timedelta) -> None:
    cal = BusinessCalendar.from_config("Europe/Berlin", {"sun": sunday_hours}, [])
    start = datetime.combine(day, time(0), tzinfo=BERLIN)
    assert business_time_between(cal, start, start + 2 * 24 * H) == real


def test_opening_time_in_the_gap_starts_at_the_jump() -> None:
    # Sun 29 Mar "02:30-05:00": opens at 03:00 CEST = 01:00 UTC; + 30m → 01:30 UTC
    cal = BusinessCalendar.from_config("Europe/Berlin", {"sun": "02:30-05:00"}, [])
    assert add_business_time(cal, utc(2026, 3, 28, 12), 30 * M) == utc(2026, 3, 29, 1, 30)


def test_new_york_spring_forward() -> None:
    # 24/7: Sat 7 Mar 23:00 EST = 04:00 UTC; + 4h = 08:00 UTC = 04:00 EDT (wall +5h)
    always = BusinessCalendar.from_config("America/New_York", {}, [], always_open=True)
    due = add_business_time(always, datetime(2026, 3, 7, 23, tzinfo=NY), 4 * H)
    assert due == utc(2026, 3, 8, 8)
    assert due.astimezone(NY).hour == 4
    # Mon–Fri 09:00–17:00: Fri 6 Mar 15:00 EST (20:00 UTC) + 4h: Fri 2h; Mon 9 Mar 09:00–11:00
    # EDT 2h → 11:00 EDT = 15:00 UTC
    business = weekdays("America/New_York", "09:00-17:00")
    assert add_business_time(business, datetime(2026, 3, 6, 15, tzinfo=NY), 4 * H) == utc(2026, 3, 9, 15)


# --- long durations --------------------------------------------------------------------------------


def test_thirty_day_target_is_fast_and_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # 30d = 720h; 45h per week → exactly 16 weeks. From Mon 19 Jan 09:00 that ends on the
    # 16th Friday at 18:00: 19 Jan + 15 weeks + 4 days = Fri 8 May → 18:00 CST = 10:00 UTC
    walked: list[date] = []
    real_day_spans = bt._day_spans
    monkeypatch.setattr(bt, "_day_spans", lambda cal, zone, day: walked.append(day) or real_day_spans(cal, zone, day))
    t0 = perf.perf_counter()
    due = add_business_time(SHANGHAI, sh(2026, 1, 19, 9), timedelta(days=30))
    assert perf.perf_counter() - t0 < 0.1
    assert due == utc(2026, 5, 8, 10)
    # Whole weeks are skipped arithmetically: day-by-day would walk ~110 days.
    assert len(walked) < 20


def test_a_year_long_target_round_trips() -> None:
    # 365d = 8760h of working time; whatever the date, measuring it back must give 8760h
    cal = weekdays("Europe/Berlin", holidays=["2026-12-25", "2027-01-01"])
    start = datetime(2026, 2, 3, 10, 17, tzinfo=BERLIN)
    due = add_business_time(cal, start, timedelta(days=365))
    assert business_time_between(cal, start, due) == timedelta(days=365)


CALENDARS = {
    "shanghai": weekdays(
        "Asia/Shanghai", ["09:00-12:00", "13:00-18:00"], NATIONAL_DAY, sat="10:00-16:00"
    ),
    "berlin": weekdays("Europe/Berlin", holidays=["2026-03-30", "2026-10-26"], sun="01:00-04:00"),
    "new_york": BusinessCalendar.from_config(
        "America/New_York", {d: "00:00-24:00" for d in ALL_DAYS if d != "sat"} | {"sat": "02:30-05:00"}, []
    ),
}


@pytest.mark.parametrize("name", CALENDARS)
def test_add_and_measure_agree_with_and_without_week_skipping(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Invariant: business_time_between(start, add_business_time(start, d)) == d, and the
    # arithmetic week skip must give exactly what walking every day gives.
    cal = CALENDARS[name]
    starts = [utc(2026, 3, 1) + k * timedelta(hours=37, minutes=13) for k in range(14)]
    starts += [utc(2026, 9, 20) + k * timedelta(hours=41, minutes=7) for k in range(14)]
    durations = [30 * M, 5 * H, timedelta(days=3), timedelta(days=20)]
    skipped = {(s, d): add_business_time(cal, s, d) for s in starts for d in durations}
    for (s, d), due in skipped.items():
        assert due >= s
        assert business_time_between(cal, s, due) == d
    monkeypatch.setattr(bt, "_regular_week", lambda *args: False)
    walked = {(s, d): add_business_time(cal, s, d) for s in starts for d in durations}
    assert walked == skipped


def test_calendar_with_no_reachable_working_time_gives_up() -> None:
    # Only Mondays 09:00–10:00, and every Monday of 2026–2029 is a holiday
    mondays = [date(2026, 1, 5) + timedelta(weeks=k) for k in range(4 * 53)]
    cal = BusinessCalendar("Asia/Shanghai", {0: ((time(9), time(10)),)}, frozenset(mondays))
    with pytest.raises(ValueError, match="no working time in the 3 years after"):
        add_business_time(cal, sh(2026, 1, 1), H)


def test_always_open_is_plain_addition_and_ignores_holidays() -> None:
    cal = BusinessCalendar.from_config("Asia/Shanghai", {}, ["2026-01-19"], always_open=True)
    assert add_business_time(cal, utc(2026, 1, 18, 20), 30 * H) == utc(2026, 1, 20, 2)
    assert business_time_between(cal, utc(2026, 1, 18, 20), utc(2026, 1, 20, 2)) == 30 * H


def test_business_time_between() -> None:
    # Fri 17:00 → Mon 12:00 = 1h + 3h
    assert business_time_between(SHANGHAI, sh(2026, 1, 16, 17), sh(2026, 1, 19, 12)) == 4 * H
    # Mon 5 Jan 09:00 → Mon 2 Feb 09:00 = 4 whole weeks × 45h
    assert business_time_between(SHANGHAI, sh(2026, 1, 5, 9), sh(2026, 2, 2, 9)) == 180 * H
    # end before start → zero
    assert business_time_between(SHANGHAI, sh(2026, 1, 19, 12), sh(2026, 1, 19, 10)) == timedelta(0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_business_time(SHANGHAI, datetime(2026, 1, 19, 9), H),
        lambda: business_time_between(SHANGHAI, utc(2026, 1, 19), datetime(2026, 1, 20)),
        lambda: Pause(datetime(2026, 1, 19, 9)),
        lambda: deadline_with_pauses(SHANGHAI, utc(2026, 1, 19), H, [], datetime(2026, 1, 19)),
    ],
)
def test_naive_datetimes_are_rejected(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="must be timezone-aware"):
        call()


def test_negative_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        add_business_time(SHANGHAI, utc(2026, 1, 19), -H)


# --- pauses -----------------------------------------------------------------------------------------

MON_0900 = sh(2026, 1, 19, 9)


def test_pause_in_working_hours_pushes_the_deadline() -> None:
    # Mon 09:00 + 4h = 13:00; paused 10:00–12:00 (2h of working time) → 15:00 CST = 07:00 UTC
    pauses = [Pause(sh(2026, 1, 19, 10), sh(2026, 1, 19, 12))]
    assert deadline_with_pauses(SHANGHAI, MON_0900, 4 * H, [], sh(2026, 1, 19, 9)) == utc(2026, 1, 19, 5)
    assert deadline_with_pauses(SHANGHAI, MON_0900, 4 * H, pauses, sh(2026, 1, 19, 13)) == utc(2026, 1, 19, 7)


def test_pause_over_the_weekend_changes_nothing() -> None:
    # Fri 17:00 + 4h = Mon 12:00 either way: Fri 18:00 → Mon 09:00 holds no working time
    pauses = [Pause(sh(2026, 1, 16, 18), sh(2026, 1, 19, 9))]
    assert deadline_with_pauses(SHANGHAI, sh(2026, 1, 16, 17), 4 * H, pauses, sh(2026, 1, 19, 9)) == utc(2026, 1, 19, 4)


def test_pause_partly_outside_working_hours() -> None:
    # Fri 17:00 + 4h, paused Fri 17:30 → Mon 10:00: Fri 17:00–17:30 0.5h, then from Mon 10:00
    # the remaining 3.5h → Mon 13:30 CST = 05:30 UTC
    pauses = [Pause(sh(2026, 1, 16, 17, 30), sh(2026, 1, 19, 10))]
    due = deadline_with_pauses(SHANGHAI, sh(2026, 1, 16, 17), 4 * H, pauses, sh(2026, 1, 19, 11))
    assert due == utc(2026, 1, 19, 5, 30)


def test_overlapping_pauses_count_once() -> None:
    # Mon 09:00 + 8h, paused 10:00–11:00 and 10:30–12:00 (together 10:00–12:00):
    # Mon 09–10 1h + 12–18 6h = 7h; Tue 09:00–10:00 1h → Tue 10:00 CST = 02:00 UTC
    pauses = [Pause(sh(2026, 1, 19, 10, 30), sh(2026, 1, 19, 12)), Pause(sh(2026, 1, 19, 10), sh(2026, 1, 19, 11))]
    due = deadline_with_pauses(SHANGHAI, MON_0900, 8 * H, pauses, sh(2026, 1, 20, 9))
    assert due == utc(2026, 1, 20, 2)
    assert elapsed_with_pauses(SHANGHAI, MON_0900, due, pauses) == 8 * H


def test_pause_that_began_before_the_clock() -> None:
    # Paused Sun 20:00 → Mon 10:00, clock starts Mon 09:00: runs from 10:00, + 1h → 11:00 CST
    pauses = [Pause(sh(2026, 1, 18, 20), sh(2026, 1, 19, 10))]
    assert deadline_with_pauses(SHANGHAI, MON_0900, H, pauses, sh(2026, 1, 19, 10)) == utc(2026, 1, 19, 3)


def test_open_pause_freezes_the_clock() -> None:
    # Mon 09:00 + 4h, paused since 10:00 with 3h still needed → no deadline
    pauses = [Pause(sh(2026, 1, 19, 10))]
    assert deadline_with_pauses(SHANGHAI, MON_0900, 4 * H, pauses, sh(2026, 1, 19, 11)) is None


def test_open_pause_after_a_breach_keeps_the_past_deadline() -> None:
    # Mon 09:00 + 1h = 10:00 CST (02:00 UTC); the pause only began at 11:00, after the breach
    pauses = [Pause(sh(2026, 1, 19, 11))]
    due = deadline_with_pauses(SHANGHAI, MON_0900, H, pauses, sh(2026, 1, 19, 12))
    assert due == utc(2026, 1, 19, 2)


def test_long_pause_is_jumped_not_walked() -> None:
    # Mon 19 Jan 2026 09:00 + 2h, paused 10:00 → Mon 18 Jan 2027 10:00: 1h before, 1h after
    # → Mon 18 Jan 2027 11:00 CST = 03:00 UTC
    pauses = [Pause(sh(2026, 1, 19, 10), sh(2027, 1, 18, 10))]
    assert deadline_with_pauses(SHANGHAI, MON_0900, 2 * H, pauses, sh(2027, 1, 18, 10)) == utc(2027, 1, 18, 3)


def test_pauses_on_a_24_7_calendar() -> None:
    # 24/7 from 00:00 UTC + 4h, paused 01:00–02:00 → 05:00 UTC; open pause at 02:30 → frozen
    cal = BusinessCalendar.from_config("UTC", {}, [], always_open=True)
    start, now = utc(2026, 1, 1), utc(2026, 1, 1, 3)
    closed = [Pause(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2))]
    still_open = [Pause(utc(2026, 1, 1, 2, 30))]
    assert deadline_with_pauses(cal, start, 4 * H, closed, now) == utc(2026, 1, 1, 5)
    assert deadline_with_pauses(cal, start, 4 * H, still_open, now) is None
    # elapsed 00:00 → 03:00 with an open pause since 02:30: 2.5h
    assert elapsed_with_pauses(cal, start, now, still_open) == 150 * M


@pytest.mark.parametrize(
    ("pauses", "now", "elapsed", "why"),
    [
        ([Pause(sh(2026, 1, 19, 10), sh(2026, 1, 19, 12))], sh(2026, 1, 19, 15), 4 * H, "09–10 + 12–15 = 1h + 3h"),
        (
            [Pause(sh(2026, 1, 19, 10), sh(2026, 1, 19, 12)), Pause(sh(2026, 1, 19, 13))],
            sh(2026, 1, 19, 15),
            2 * H,
            "09–10 + 12–13, open pause since 13:00 = 1h + 1h",
        ),
        ([], sh(2026, 1, 19, 8), timedelta(0), "now before start"),
        ([Pause(sh(2026, 1, 20, 9), sh(2026, 1, 21, 9))], sh(2026, 1, 21, 12), 12 * H, "Mon 9h + Tue paused + Wed 3h"),
    ],
)
def test_elapsed_with_pauses(pauses: list[Pause], now: datetime, elapsed: timedelta, why: str) -> None:
    assert elapsed_with_pauses(SHANGHAI, MON_0900, now, pauses) == elapsed, why


def test_elapsed_over_a_weekend_pause() -> None:
    # Fri 17:00 → Mon 10:00 with Sat paused: Fri 1h + Mon 1h = 2h (Saturday was closed anyway)
    pauses = [Pause(sh(2026, 1, 17), sh(2026, 1, 18))]
    assert elapsed_with_pauses(SHANGHAI, sh(2026, 1, 16, 17), sh(2026, 1, 19, 10), pauses) == 2 * H


def test_pause_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Pause(utc(2026, 1, 19, 10), utc(2026, 1, 19, 9))


# --- configuration ------------------------------------------------------------------------------------


def test_from_config_shapes() -> None:
    cal = BusinessCalendar.from_config(
        "Asia/Shanghai",
        {
            "Mon": "09:00-18:00",
            "tuesday": ["13:00-18:00", "09:00-12:00"],
            "fri": "00:00-24:00",
            "sat": "closed",
            "sun": "",
        },
        ["2026-10-01", date(2026, 10, 2)],
    )
    assert cal.hours == {
        0: ((time(9), time(18)),),
        1: ((time(9), time(12)), (time(13), time(18))),  # sorted
        4: ((time(0), time(0)),),  # 24:00 is stored as time(0) at the end
    }
    assert cal.holidays == {date(2026, 10, 1), date(2026, 10, 2)}
    # Friday 00:00–24:00 is a full 24h of working time
    assert business_time_between(cal, sh(2026, 1, 16), sh(2026, 1, 17)) == 24 * H


def test_calendar_is_immutable_hashable_and_picklable() -> None:
    direct = BusinessCalendar("Asia/Shanghai", {d: ((time(9), time(18)),) for d in range(5)})
    assert direct == SHANGHAI and hash(direct) == hash(SHANGHAI)
    assert pickle.loads(pickle.dumps(SHANGHAI)) == SHANGHAI
    with pytest.raises(TypeError):
        SHANGHAI.hours[5] = ((time(9), time(18)),)  # type: ignore[index]


def test_unknown_time_zone_is_named() -> None:
    with pytest.raises(ValueError, match="^unknown time zone 'Asia/Shangai'$"):
        BusinessCalendar.from_config("Asia/Shangai", {"mon": "09:00-18:00"}, [])


MON = {"mon": "09:00-18:00"}


@pytest.mark.parametrize(
    ("hours", "holidays", "message"),
    [
        ({"mon": "9-18"}, [], "invalid working hours '9-18' for mon — use HH:MM-HH:MM, e.g. 09:00-18:00"),
        (
            {"mon": "18:00-09:00"},
            [],
            "working hours '18:00-09:00' for mon end before they start — overnight shifts must be split"
            " at midnight, e.g. mon: 18:00-24:00 and the next day 00:00-09:00",
        ),
        (
            {"mon": "closed", "sun": ""},
            [],
            "the calendar has no working hours on any day — give at least one range such as"
            " mon: 09:00-18:00, or make it always open",
        ),
        ({}, [], "the calendar has no working hours on any day"),
        (
            {"wed": "25:00-26:00"},
            [],
            "invalid working hours '25:00-26:00' for wed — hours run 00-23 and minutes 00-59"
            " (24:00 is allowed only as an end)",
        ),
        (
            {"fri": "22:00-00:00"},
            [],
            "working hours '22:00-00:00' for fri end at 00:00 — write 24:00 for the end of the day",
        ),
        ({"mon": "09:00-09:00"}, [], "working hours '09:00-09:00' for mon are empty — use 'closed' for a day off"),
        (
            {"mon": ["09:00-12:00", "11:00-18:00"]},
            [],
            "working hours '09:00-12:00' and '11:00-18:00' for mon overlap",
        ),
        (
            {"mnd": "09:00-18:00"},
            [],
            "unknown weekday 'mnd' in working hours — use mon, tue, wed, thu, fri, sat or sun",
        ),
        (MON | {"Monday": "10:00-11:00"}, [], "working hours for mon are given twice"),
        (
            {"mon": 9},
            [],
            "working hours for mon must be a range like '09:00-18:00' or a list of them, got 9",
        ),
        (MON, ["2026-13-01"], "invalid holiday '2026-13-01' — use YYYY-MM-DD, e.g. 2026-10-01"),
        (MON, ["01/10/2026"], "invalid holiday '01/10/2026' — use YYYY-MM-DD, e.g. 2026-10-01"),
    ],
)
def test_bad_config_is_explained(hours: dict, holidays: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        BusinessCalendar.from_config("Asia/Shanghai", hours, holidays)


def test_direct_constructor_validates_too() -> None:
    with pytest.raises(ValueError, match=re.escape("working hours 18:00-09:00 for tue must end after they start")):
        BusinessCalendar("UTC", {1: ((time(18), time(9)),)})
    with pytest.raises(ValueError, match=re.escape("working hours 09:00-12:00 and 11:00-13:00 for mon overlap")):
        BusinessCalendar("UTC", {0: ((time(11), time(13)), (time(9), time(12)))})
    with pytest.raises(ValueError, match="not a weekday number"):
        BusinessCalendar("UTC", {7: ((time(9), time(12)),)})
