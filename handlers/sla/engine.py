"""The SLA engine inside the ticket core: recomputes deadlines on every change, keeps pause
intervals, clears stale alerts, reopens a resolved ticket when the customer replies, and keeps
`sla_next_at` — the one indexed column the sweep reads — at each ticket's earliest next event.

It reaches the database only through the unit of work it is handed (`uow.sla`)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.changes import change_status
from handlers.commands import Actor
from handlers.desk import Ctx, Desk, person_for
from handlers.sla import alerts
from handlers.sla.business_time import deadline_with_pauses
from handlers.sla.clocks import DONE_STATUSES, SlaClock, compute_clocks, reminded
from handlers.sla.format import clock_name, span
from handlers.sla.policy import SlaSettings
from handlers.views import ClockView
from store.models import Person, Ticket
from store.sla_models import SlaAck, SlaFollowUp, SlaPause, SlaReminder
from store.sla_repository import SlaRepository

if TYPE_CHECKING:
    from store.uow import UnitOfWork

# Who acts when the clock does: alerts, escalations, auto-close.
SYSTEM = Actor("system", "afterdesk", display_name="Afterdesk")


def system_ctx(desk: Desk, uow: UnitOfWork, now: datetime) -> Ctx:
    return Ctx(desk, uow, SYSTEM, person_for(uow, SYSTEM), now)


class SlaEngine:
    """Plugged into a Desk as a change hook and as its clock-view provider."""

    def __init__(self, settings: SlaSettings) -> None:
        self.settings = settings

    # --- in every command's transaction ---------------------------------------------------------

    def on_change(self, ctx: Ctx, ticket: Ticket, kind: str) -> None:
        """Change hook: pauses, rebound, cleared alerts, new deadlines and next event."""
        if not self.settings.enabled:
            return
        if kind == "created":
            self._first_clocks(ticket)
            return
        # Flushing takes the ticket's row lock now (PostgreSQL), so a sweep holding it finishes first
        # and its alerts are visible below.
        ctx.uow.flush()
        if kind == "comment" and self._customer_replied(ctx, ticket):
            # A rebound: the nested "status" change runs this hook again and does the rest.
            change_status(ctx, ticket, "open")
            return
        self.recompute(ctx, ticket)

    def _first_clocks(self, ticket: Ticket) -> None:
        """A ticket being created has no pauses, alerts or follow-ups yet: nothing to read."""
        self._store(ticket, compute_clocks(self.settings, ticket, ()), (), (), ())

    def recompute(self, ctx: Ctx, ticket: Ticket) -> None:
        """Bring the ticket's SLA state in line with the ticket and the policy as they are now."""
        repo = ctx.uow.sla
        pauses = self._sync_pauses(ctx, repo, ticket)
        clocks = compute_clocks(self.settings, ticket, pauses)
        alerts.clear_stale(ctx, self, repo, ticket, clocks)
        self.refresh(ctx, ticket, repo, clocks)

    def _customer_replied(self, ctx: Ctx, ticket: Ticket) -> bool:
        """A new comment on a resolved ticket by someone who speaks for the customer."""
        if ticket.status != "resolved" or not ticket.comments:
            return False
        last = ticket.comments[-1]
        fresh = last.created_at == ctx.now and last.author_id == ctx.person.id and last.edited_at is None
        return fresh and last.deleted_at is None and self.speaks_for_customer(ctx, ctx.person, ticket)

    def speaks_for_customer(self, ctx: Ctx, person: Person, ticket: Ticket) -> bool:
        """People in `customer_side`; the reporter only with `reporter_is_customer` — usually the reporter is
        the agent who typed /ticket for the customer, and their follow-up notes are no rebound."""
        if person.key in self.settings.customer_side or person.key in ctx.policy.customer_side:
            return True
        return self.settings.reporter_is_customer and person.id == ticket.reporter_id

    def _sync_pauses(self, ctx: Ctx, repo: SlaRepository, ticket: Ticket) -> list[SlaPause]:
        """Open a pause when the ticket starts waiting (or is done), close it when it runs again."""
        rows = list(repo.pauses(ticket.id))
        want = "waiting" if ticket.status == "waiting" else "done" if ticket.status in DONE_STATUSES else None
        open_reasons = set()
        for row in rows:
            if row.ended_at is not None:
                continue
            if row.reason == want:
                open_reasons.add(row.reason)
                continue
            row.ended_at = ctx.now
            if row.reason == "waiting":
                ctx.audit(ticket, "sla_resumed", detail=f"resolution clock runs again after "
                          f"{span(ctx.now - row.started_at)} paused ({row.started_at:%Y-%m-%d %H:%M} UTC → "
                          f"{ctx.now:%Y-%m-%d %H:%M} UTC)", system=True)
        if want and want not in open_reasons:
            row = SlaPause(ticket_id=ticket.id, reason=want, started_at=ctx.now)
            repo.add(row)
            rows.append(row)
            if want == "waiting":
                ctx.audit(ticket, "sla_paused", detail="resolution clock paused while waiting", system=True)
        return rows

    # --- deadlines and the next event ------------------------------------------------------------

    def clocks(self, repo: SlaRepository, ticket: Ticket) -> tuple[SlaClock, ...]:
        """The ticket's clocks now (none while SLA is off: follow-ups still run)."""
        if not self.settings.enabled:
            return ()
        return compute_clocks(self.settings, ticket, repo.pauses(ticket.id))

    def refresh(self, ctx: Ctx, ticket: Ticket, repo: SlaRepository,
                clocks: tuple[SlaClock, ...] | None = None) -> None:
        """Store the deadlines on the ticket and the instant of its next SLA event."""
        clocks = self.clocks(repo, ticket) if clocks is None else clocks
        self._store(ticket, clocks, repo.reminders(ticket.id), repo.acks(ticket.id), repo.pending_followups(ticket.id))

    def _store(self, ticket: Ticket, clocks: Sequence[SlaClock], reminders: Sequence[SlaReminder],
               acks: Sequence[SlaAck], followups: Sequence[SlaFollowUp]) -> None:
        by_key = {c.key: c for c in clocks}
        fr, res = by_key.get("first_response"), by_key.get("resolution")
        ticket.first_response_due = fr.due if fr else None
        ticket.resolution_due = res.due if res else None
        ticket.sla_next_at = self.next_event(ticket, clocks, reminders, acks, followups)

    def is_current(self, ticket: Ticket, pauses: Sequence[SlaPause], reminders: Sequence[SlaReminder],
                   acks: Sequence[SlaAck], followups: Sequence[SlaFollowUp]) -> bool:
        """Whether the stored deadlines and next event are what the current policy gives (see catch_up)."""
        clocks = compute_clocks(self.settings, ticket, pauses)
        by_key = {c.key: c.due for c in clocks}
        want = (by_key.get("first_response"), by_key.get("resolution"),
                self.next_event(ticket, clocks, reminders, acks, followups))
        return (ticket.first_response_due, ticket.resolution_due, ticket.sla_next_at) == want

    def next_event(self, ticket: Ticket, clocks: Sequence[SlaClock], reminders: Sequence[SlaReminder],
                   acks: Sequence[SlaAck], followups: Sequence[SlaFollowUp]) -> datetime | None:
        """The earliest instant at which the sweep has something to do for this ticket."""
        fired = {(r.kind, r.deadline) for r in reminders}
        candidates: list[datetime] = []
        for c in clocks:
            if c.done_at is not None or c.due is None:
                continue
            if (f"{c.key}.breach", c.due) in fired:
                escalation = self.next_escalation(c, reminders, acks)
                if escalation is not None:
                    candidates.append(escalation)
                continue
            candidates.append(c.due)
            if c.warn_at is not None and c.warn_at < c.due and not reminded(c, reminders):
                candidates.append(c.warn_at)
        unclaimed = self.unclaimed_at(ticket)
        if unclaimed is not None and ("unclaimed", unclaimed) not in fired:
            candidates.append(unclaimed)
        close = self.auto_close_at(ticket)
        if close is not None:
            candidates.append(close)
        candidates += [f.due_at for f in followups]
        return min(candidates) if candidates else None

    def next_escalation(self, clock: SlaClock, reminders: Sequence[SlaReminder],
                        acks: Sequence[SlaAck]) -> datetime | None:
        """Breach + k × reescalate_every after the last alert of this breach, until acknowledged."""
        every = self.settings.reescalate_every
        if every is None or clock.due is None or is_acked(acks, clock):
            return None
        # The last alert of this breach, by its own instant or (if it fired late) by when it fired:
        # a missed escalation is not replayed, the cadence continues from the breach.
        last = max((max(r.deadline, r.fired_at) for r in reminders if r.clock_due == clock.due
                    and r.kind in (f"{clock.key}.breach", f"{clock.key}.escalate")), default=clock.due)
        return clock.due + every * ((last - clock.due) // every + 1)

    def unclaimed_at(self, ticket: Ticket) -> datetime | None:
        after = self.settings.unclaimed_after
        if not self.settings.enabled or after is None or ticket.status != "new" or ticket.assignee_id is not None:
            return None
        cal = self.settings.policy_for(ticket.priority, ticket.category, ticket.group_key).calendar
        return deadline_with_pauses(cal, ticket.created_at, after, (), ticket.created_at)

    def auto_close_at(self, ticket: Ticket) -> datetime | None:
        after = self.settings.auto_close_after
        if not self.settings.enabled or after is None or ticket.status != "resolved" or ticket.resolved_at is None:
            return None
        return ticket.resolved_at + after

    # --- what the card and /ticket show display --------------------------------------------------

    def clock_views(self, ticket: Ticket, now: datetime, uow: UnitOfWork) -> tuple[ClockView, ...]:
        """Each clock's state for the card and /ticket show, read through the caller's unit of work."""
        pauses = uow.sla.pauses(ticket.id) if ticket.id is not None else ()
        return tuple(ClockView(name=clock_name(c.key), state=c.state(now).value, due=c.due, done_at=c.done_at)
                     for c in compute_clocks(self.settings, ticket, pauses))


def is_acked(acks: Sequence[SlaAck], clock: SlaClock) -> bool:
    return any(a.clock == clock.key and a.clock_due == clock.due for a in acks)


def engine_for(desk: Desk) -> SlaEngine | None:
    """The engine installed on this desk (it is one of its change hooks), if any."""
    for hook in desk.change_hooks:
        owner = getattr(hook, "__self__", None)
        if isinstance(owner, SlaEngine):
            return owner
    return None


def install(desk: Desk, settings: SlaSettings) -> SlaEngine:
    """Plug the engine into the desk (idempotent) and make sure the system person exists."""
    engine = engine_for(desk)
    if engine is None:
        engine = SlaEngine(settings)
        desk.change_hooks.append(engine.on_change)
    engine.settings = settings
    if settings.enabled:
        desk.clock_views = engine.clock_views
    with desk.uow() as uow:
        # Created once here, so two sweeping processes never race to register it.
        person_for(uow, SYSTEM)
        uow.commit()
    return engine

