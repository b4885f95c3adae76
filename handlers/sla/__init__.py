"""SLA: business-time math, policies, the engine in the ticket core, alerts, follow-ups and digests.

The time math (business_time, durations) is standard library only; the engine modules use the store's
interfaces like the rest of handlers/. Importing this package does not import the engine:
handlers.sla.usecases (imported by handlers.bus) registers its commands, verbs and texts.
"""
from handlers.sla.business_time import (
    BusinessCalendar,
    ClockState,
    Pause,
    add_business_time,
    business_time_between,
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
    "deadline_with_pauses",
    "elapsed_with_pauses",
    "format_duration",
    "parse_duration",
]
