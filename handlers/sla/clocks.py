"""A ticket's SLA clocks, computed from its policy, its timestamps and its pause intervals."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from handlers.sla.business_time import BusinessCalendar, ClockState, Pause, deadline_with_pauses
from handlers.sla.policy import SlaSettings
from store.models import Ticket
from store.sla_models import SlaReminder

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
DONE_STATUSES = ("resolved", "closed")


class PauseRow(Protocol):
    reason: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class SlaClock:
    key: str
    target: timedelta
    started: datetime
    due: datetime | None
    warn_at: datetime | None
    done_at: datetime | None
    paused: bool
    calendar: BusinessCalendar
    # When the clock's current run began: creation, or the last rebound (a reopen starts a new run).
    run_started: datetime

    def state(self, now: datetime) -> ClockState:
        if self.done_at is not None:
            return ClockState.MET if self.due is None or self.done_at <= self.due else ClockState.MISSED
        if self.due is not None and now >= self.due:
            return ClockState.BREACHED
        if self.paused:
            return ClockState.PAUSED
        if self.warn_at is not None and now >= self.warn_at:
            return ClockState.DUE_SOON
        return ClockState.ON_TRACK


def done_at(ticket: Ticket) -> datetime | None:
    """When the case ended (resolved, or closed without a resolution), None while it runs."""
    if ticket.status not in DONE_STATUSES:
        return None
    return ticket.resolved_at or ticket.closed_at


def run_started(ticket: Ticket, rows: Iterable[PauseRow]) -> datetime:
    """Creation, or the end of the last 'done' pause: the instant the ticket was last reopened."""
    return max((r.ended_at for r in rows if r.reason == "done" and r.ended_at is not None),
               default=ticket.created_at)


def resolution_pauses(rows: Iterable[PauseRow]) -> list[Pause]:
    """Pauses that stop the resolution clock; the open 'done' pause is left out so a finished
    clock keeps the deadline it had when it finished."""
    return [Pause(r.started_at, r.ended_at) for r in rows if not (r.reason == "done" and r.ended_at is None)]


def compute_clocks(settings: SlaSettings, ticket: Ticket, pauses: Iterable[PauseRow]) -> tuple[SlaClock, ...]:
    """The first-response and resolution clocks that apply to the ticket (none if it has no target)."""
    policy = settings.policy_for(ticket.priority, ticket.category, ticket.group_key)
    cal, start = policy.calendar, ticket.created_at
    rows = list(pauses)
    run = run_started(ticket, rows)
    clocks: list[SlaClock] = []
    if policy.first_response is not None:
        finished = ticket.first_response_at or done_at(ticket)
        clocks.append(SlaClock(
            FIRST_RESPONSE, policy.first_response, start,
            due=deadline_with_pauses(cal, start, policy.first_response, (), start),
            warn_at=_warn(settings, cal, start, policy.first_response, []),
            done_at=finished, paused=False, calendar=cal, run_started=run,
        ))
    if policy.resolution is not None:
        running = resolution_pauses(rows)
        paused = any(r.ended_at is None and r.reason == "waiting" for r in rows)
        clocks.append(SlaClock(
            RESOLUTION, policy.resolution, start,
            due=deadline_with_pauses(cal, start, policy.resolution, running, start),
            warn_at=_warn(settings, cal, start, policy.resolution, running),
            done_at=done_at(ticket), paused=paused, calendar=cal, run_started=run,
        ))
    return tuple(clocks)


def reminded(clock: SlaClock, reminders: Sequence[SlaReminder]) -> bool:
    """Whether this clock's reminder already fired in its current run — it fires once per run.

    A reminder that is still up counts, and so does one taken down only because the clock paused:
    waiting and running again moves the deadline, which is no reason to remind again. One taken down
    because the deadline moved (priority, category, group) does not count, and a rebound starts a new
    run that may remind again. One with this very deadline always counts (its UNIQUE key is taken).
    """
    kind = f"{clock.key}.warn"
    return any(r.kind == kind and (r.deadline == clock.due or (
        r.fired_at >= clock.run_started and (r.cleared_at is None or r.cleared_reason == "paused")))
        for r in reminders)


def _warn(settings: SlaSettings, cal: BusinessCalendar, start: datetime, target: timedelta,
          pauses: list[Pause]) -> datetime | None:
    """The reminder instant: when `warn_at` of the target's working time has run."""
    if settings.warn_at is None:
        return None
    return deadline_with_pauses(cal, start, target * settings.warn_at, pauses, start)
