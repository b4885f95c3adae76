"""Firing SLA alerts (reminders, breaches, escalations, unclaimed, follow-ups, auto-close) and
rewriting them when their condition clears. Each alert is a row whose UNIQUE key makes it fire once."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from handlers import notify
from handlers.changes import change_status
from handlers.desk import Ctx
from handlers.sla.business_time import business_time_between
from handlers.sla.clocks import FIRST_RESPONSE, SlaClock, reminded
from handlers.sla.format import at, clock_name, span, word
from store.models import Person, Ticket
from store.sla_models import SlaReminder
from store.sla_repository import SlaRepository

if TYPE_CHECKING:
    from handlers.sla.engine import SlaEngine
    from store.outbox_repository import Queued

log = logging.getLogger("afterdesk.sla")


@dataclass
class Fired:
    """What one ticket's turn in the sweep did (merged into the report once committed)."""

    alerts: list[tuple[int, str, bool]] = field(default_factory=list)  # (ticket number, kind, late)
    closed: list[int] = field(default_factory=list)


def process(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket) -> Fired:
    """Fire whatever is due for this (locked) ticket, then store its next event."""
    s, now, out = engine.settings, ctx.now, Fired()
    close_at = engine.auto_close_at(ticket)
    if close_at is not None and ticket.resolved_at is not None and now >= close_at:
        age = span(now - ticket.resolved_at)
        change_status(ctx, ticket, "closed", system=True)
        notify.notice(ctx, ticket, "sla_auto_closed", {"ref": _ref(ticket), "age": age})
        out.closed.append(ticket.number)
    clocks = engine.clocks(repo, ticket)  # none while SLA is off; alerts and follow-ups do not move them
    if s.enabled:
        reminders = list(repo.reminders(ticket.id))
        fired = {(r.kind, r.deadline) for r in reminders}
        for c in clocks:
            if c.done_at is not None or c.due is None:
                continue
            if now >= c.due:
                if (f"{c.key}.breach", c.due) not in fired:
                    _alert(ctx, engine, repo, ticket, c, "breach", c.due, out)
                else:
                    nxt = engine.next_escalation(c, reminders, repo.acks(ticket.id))
                    if nxt is not None and now >= nxt:
                        count = 1 + sum(1 for r in reminders if r.kind == f"{c.key}.escalate" and r.clock_due == c.due)
                        # Only the latest missed escalation is sent (once), not one per missed period.
                        every = s.reescalate_every
                        latest = c.due + every * ((now - c.due) // every)  # type: ignore[operator]
                        _alert(ctx, engine, repo, ticket, c, "escalate", latest, out, count=count)
            elif c.warn_at is not None and now >= c.warn_at and not reminded(c, reminders):
                _alert(ctx, engine, repo, ticket, c, "warn", c.due, out)
        unclaimed = engine.unclaimed_at(ticket)
        if unclaimed is not None and now >= unclaimed and ("unclaimed", unclaimed) not in fired:
            _unclaimed(ctx, engine, repo, ticket, unclaimed, out)
    for followup in repo.pending_followups(ticket.id):
        if followup.due_at <= now:
            _followup(ctx, engine, repo, ticket, followup, out)
    if any(kind != "followup" for _, kind, _ in out.alerts):
        notify.card(ctx, ticket)  # the card's clock line turns due soon / breached
    engine.refresh(ctx, ticket, repo, clocks)
    if ticket.sla_next_at is not None and ticket.sla_next_at <= now:
        # Everything due has fired, so this is a bug; don't let it make every sweep claim the ticket.
        log.error("SLA: ticket #%s still has a due event after its sweep; retrying in a minute", ticket.number)
        ticket.sla_next_at = now + max(timedelta(minutes=1), s.late_grace)
    return out


def _ref(ticket: Ticket) -> str:
    return f"#{ticket.number}"


def _record(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket, kind: str, clock: str,
            deadline: datetime, clock_due: datetime | None, scheduled: datetime) -> SlaReminder | None:
    """The alert's row, or None if it already fired (UNIQUE ticket, kind, deadline); late when it
    fires well after `scheduled`, its own instant (a reminder's is the warn point, not the deadline)."""
    row = SlaReminder(ticket_id=ticket.id, kind=kind, clock=clock, deadline=deadline, clock_due=clock_due,
                      fired_at=ctx.now, late=ctx.now - scheduled > engine.settings.late_grace, message_ids=[],
                      cleared_reason="")
    return row if repo.add_once(row) else None


def _keep(ctx: Ctx, row: Any, messages: Sequence[Queued | None]) -> None:
    """Remember the outbox rows an alert wrote, so they can be edited when it clears."""
    ctx.uow.flush()
    row.message_ids = [m.id for m in messages if m is not None]


def _late(row: Any, deadline: datetime, tz: str) -> str:
    return word("sla_late", due=at(deadline, tz)) if row.late else ""


def _managers(ctx: Ctx, ticket: Ticket) -> list[Person]:
    group = ctx.policy.groups.get(ticket.group_key)
    people = [ctx.uow.people.by_key(key) for key in (group.managers if group else ())]
    return [p for p in people if p is not None]


def _channel_posts(ctx: Ctx, ticket: Ticket, key: str, params: dict[str, Any]) -> list[Queued]:
    group = ctx.policy.groups.get(ticket.group_key)
    return [notify.channel_post(ctx, platform, chat, ticket, key, params)
            for platform, chat in (group.channels.items() if group else ())
            if platform in ctx.policy.platforms and chat]


def _alert(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket, clock: SlaClock, what: str,
           deadline: datetime, out: Fired, count: int = 0) -> None:
    """A reminder to the assignee (warn), or an alert to the group's channel and managers."""
    scheduled = clock.warn_at if what == "warn" and clock.warn_at is not None else deadline
    row = _record(ctx, engine, repo, ticket, f"{clock.key}.{what}", clock.key, deadline, clock.due, scheduled)
    if row is None:
        return
    assert clock.due is not None
    s = engine.settings
    zone = s.display_zone(ticket.group_key)
    assignee = notify.display(ticket.assignee) if ticket.assignee else word("sla_nobody")

    def params(tz: str) -> dict[str, Any]:
        return {"ref": _ref(ticket), "number": ticket.number, "title": ticket.title, "clock": clock_name(clock.key),
                "due": at(clock.due, tz), "assignee": assignee, "group": ctx.policy.group_name(ticket.group_key),
                "left": span(business_time_between(clock.calendar, ctx.now, clock.due)),  # type: ignore[arg-type]
                "over": span(ctx.now - clock.due), "count": count,  # type: ignore[operator]
                "late": _late(row, scheduled, tz)}

    messages: list[Queued | None] = []
    if what == "warn":
        messages += notify.notice(ctx, ticket, "sla_warn_notice", params(zone))
        if ticket.assignee is not None:
            messages.append(notify.dm(ctx, ticket.assignee, ticket, "sla_warn_dm", params(ticket.assignee.timezone),
                                      include_actor=True))
    else:
        prefix = "sla_breach" if what == "breach" else "sla_escalation"
        messages += _channel_posts(ctx, ticket, f"{prefix}_channel", params(zone))
        for manager in _managers(ctx, ticket):
            messages.append(notify.dm(ctx, manager, ticket, f"{prefix}_dm", params(manager.timezone),
                                      include_actor=True))
        if what == "breach":
            messages += notify.notice(ctx, ticket, "sla_breach_notice", params(zone))
    _keep(ctx, row, messages)
    out.alerts.append((ticket.number, row.kind, row.late))


def _unclaimed(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket, deadline: datetime,
               out: Fired) -> None:
    row = _record(ctx, engine, repo, ticket, "unclaimed", "", deadline, None, deadline)
    if row is None:
        return
    zone = engine.settings.display_zone(ticket.group_key)
    params = {"ref": _ref(ticket), "number": ticket.number, "title": ticket.title,
              "age": span(ctx.now - ticket.created_at), "late": _late(row, deadline, zone)}
    _keep(ctx, row, _channel_posts(ctx, ticket, "sla_unclaimed_channel", params))
    out.alerts.append((ticket.number, "unclaimed", row.late))


def _followup(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket, followup: Any, out: Fired) -> None:
    followup.fired_at = ctx.now
    followup.late = ctx.now - followup.due_at > engine.settings.late_grace
    person = repo.person(followup.person_id)
    tz = person.timezone if person else engine.settings.display_zone(ticket.group_key)
    params = {"ref": _ref(ticket), "title": ticket.title, "status": ticket.status,
              "note": followup.note or word("sla_followup_default"), "late": _late(followup, followup.due_at, tz),
              "person": notify.display(person)}
    message = notify.dm(ctx, person, ticket, "sla_followup_dm", params, include_actor=True)
    # Nobody to DM (no live platform for them): say it in the ticket's thread instead.
    messages = [message] if message is not None else notify.notice(ctx, ticket, "sla_followup_notice", params)
    _keep(ctx, followup, messages)
    out.alerts.append((ticket.number, "followup", followup.late))


# --- self-clearing ------------------------------------------------------------------------------

def _what(kind: str) -> str:
    return word(f"sla_what_{kind.rsplit('.', 1)[-1]}")


def clear_stale(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket,
                clocks: Sequence[SlaClock]) -> None:
    """Rewrite alerts whose condition no longer holds (answered, resolved, claimed, moved, paused)."""
    by_key = {c.key: c for c in clocks}
    for row in repo.reminders(ticket.id):
        if row.cleared_at is not None:
            continue
        found = _why_cleared(ticket, row, by_key)
        if found is None:
            continue
        reason, key, extra = found
        base = {"ref": _ref(ticket), "what": _what(row.kind), "by": notify.display(ctx.person)}

        def params(tz: str, base: dict[str, Any] = base, extra: dict[str, Any] = extra) -> dict[str, Any]:
            return {**base, "at": at(ctx.now, tz), **{k: v(tz) if callable(v) else v for k, v in extra.items()}}

        _rewrite(ctx, engine, ticket, row.message_ids, key, params)
        row.cleared_at, row.cleared_reason = ctx.now, reason


def _why_cleared(ticket: Ticket, row: SlaReminder, by_key: dict[str, SlaClock]) -> tuple[str, str, dict[str, Any]] | None:
    if row.kind == "unclaimed":
        if ticket.assignee_id is None and ticket.status == "new":
            return None
        if ticket.assignee is None:  # moved on without an owner (e.g. resolved by its reporter)
            return "status", "sla_cleared_resolved", {"status": ticket.status}
        return "claimed", "sla_cleared_claimed", {"by": notify.display(ticket.assignee)}
    clock = by_key.get(row.clock)
    name = clock_name(row.clock)
    if clock is None:
        return "off", "sla_cleared_off", {"clock": name}
    if clock.done_at is not None:
        if row.clock == FIRST_RESPONSE and ticket.first_response_at is not None:
            return "first_response", "sla_cleared_first_response", {}
        return "resolved", "sla_cleared_resolved", {"status": ticket.status}
    if clock.due == row.clock_due:
        return None
    if clock.due is None:
        return "paused", "sla_cleared_paused", {"clock": name, "status": ticket.status}
    due = clock.due
    return "moved", "sla_cleared_moved", {"clock": name, "due": lambda tz: at(due, tz)}


def _rewrite(ctx: Ctx, engine: SlaEngine, ticket: Ticket, message_ids: Sequence[int], key: str,
             params: Any) -> None:
    """Edit each message an alert sent; times in the reader's zone (a DM's person, else the group's)."""
    zone = engine.settings.display_zone(ticket.group_key)
    for message_id in message_ids:
        original = ctx.uow.outbox.get(message_id)
        if original is None:
            continue
        person = ctx.uow.people.get(original.person_id) if original.person_id else None
        notify.edit(ctx, original, key, params(person.timezone if person else zone))


def acknowledge(ctx: Ctx, engine: SlaEngine, repo: SlaRepository, ticket: Ticket, clock: SlaClock) -> None:
    """Mark a breach's alerts acknowledged and rewrite them to say who took it."""
    for row in repo.reminders(ticket.id):
        if (row.clock == clock.key and row.clock_due == clock.due and row.cleared_at is None
                and row.kind in (f"{clock.key}.breach", f"{clock.key}.escalate")):
            row.acked_at = ctx.now
            _rewrite(ctx, engine, ticket, row.message_ids, "sla_acked_edit",
                     lambda tz: {"ref": _ref(ticket), "title": ticket.title, "clock": clock_name(clock.key),
                                 "due": at(clock.due, tz), "by": notify.display(ctx.person), "at": at(ctx.now, tz)})
