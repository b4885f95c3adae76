"""SLA time math: business calendars, working-time deadlines, pauses and human durations.

Standard library only: this package sits in a layer that may not import third-party code.
"""
from handlers.sla.business_time import (
    BusinessCalendar,
    ClockState,
    Pause,
    add_business_time,
    business_time_between,
    clock_state,
    deadline_with_pauses,
    elapsed_with_pauses,
)
from handlers.sla.durations import format_duration, parse_duration

__all__ = [
    "BusinessCalendar",
    "ClockState",
    "Pause",
    "add_business_time",
    "business_time_between",
    "clock_state",
    "deadline_with_pauses",
    "elapsed_with_pauses",
    "format_duration",
    "parse_duration",
]
