"""SLA use cases on the command bus: acknowledge a breach, set, list and cancel follow-ups. Importing this module
registers them, their grammar verbs and their texts."""
from __future__ import annotations

from handlers import notify
from handlers.desk import Ctx, handles
from handlers.replies import Reply, UsageError, text
from handlers.sla import alerts
from handlers.sla import grammar as _grammar  # noqa: F401  (registers remind / ack)
from handlers.sla.business_time import ClockState
from handlers.sla.commands import Acknowledge, CancelFollowUps, ListFollowUps, Remind
from handlers.sla.engine import SlaEngine, engine_for, is_acked
from handlers.sla.format import at, clock_name
from handlers.sla.when import parse_when, resolve
from store.models import Ticket
from store.sla_models import SlaAck, SlaFollowUp

MAX_NOTE = 1000
# Follow-ups listed at most (soonest first).
LISTED = 20


def _engine(ctx: Ctx, verb: str) -> SlaEngine:
    engine = engine_for(ctx.desk)
    if engine is None:
        raise UsageError("sla_err_off", verb=verb)
    return engine


def _engine_and_ticket(ctx: Ctx, verb: str, number: int) -> tuple[SlaEngine, Ticket, str]:
    """The SLA engine (refused while SLA is off), ticket N locked, and how it is referred to (#N)."""
    engine = _engine(ctx, verb)
    ticket = ctx.ticket(number)
    return engine, ticket, f"#{ticket.number}"


@handles(Acknowledge)
def acknowledge(ctx: Ctx, cmd: Acknowledge) -> Reply:
    """Take a breach: its alerts say who did, and re-escalation stops until a new deadline is missed."""
    engine, ticket, ref = _engine_and_ticket(ctx, "ack", cmd.number)
    repo = ctx.uow.sla
    breached = [c for c in engine.clocks(repo, ticket) if c.state(ctx.now) == ClockState.BREACHED]
    if not breached:
        raise UsageError("sla_err_nothing_to_ack", ref=ref)
    acks = repo.acks(ticket.id)
    fresh = [c for c in breached if not is_acked(acks, c)]
    if not fresh:
        last = max(acks, key=lambda a: a.at)
        raise UsageError("sla_err_already_acked", ref=ref, by=notify.display(repo.person(last.person_id)),
                         at=at(last.at, ctx.person.timezone))
    for clock in fresh:
        assert clock.due is not None
        repo.add(SlaAck(ticket_id=ticket.id, clock=clock.key, clock_due=clock.due, person_id=ctx.person.id,
                        at=ctx.now))
        alerts.acknowledge(ctx, engine, repo, ticket, clock)
    names = ", ".join(clock_name(c.key) for c in fresh)
    ctx.audit(ticket, "sla_ack", detail=f"{names} breach acknowledged")
    notify.notice(ctx, ticket, "sla_ack_notice", {"actor": notify.display(ctx.person), "ref": ref, "clocks": names})
    engine.refresh(ctx, ticket, repo)
    return Reply(texts=(text("sla_acked", ref=ref, clocks=names),), ticket=ctx.view(ticket))


@handles(Remind)
def remind(ctx: Ctx, cmd: Remind) -> Reply:
    """A follow-up for the asker, at a time read in their own time zone."""
    engine, ticket, ref = _engine_and_ticket(ctx, "remind", cmd.number)
    tz = ctx.person.timezone or "UTC"
    when, _ = parse_when(cmd.when.split())
    due = resolve(when, ctx.now, tz)
    note = cmd.note.strip()
    if len(note) > MAX_NOTE:
        raise UsageError("err_too_long", field="follow-up text", length=len(note), limit=MAX_NOTE)
    repo = ctx.uow.sla
    repo.add(SlaFollowUp(ticket_id=ticket.id, person_id=ctx.person.id, due_at=due, note=note, created_at=ctx.now,
                         late=False, message_ids=[]))
    ctx.audit(ticket, "followup", "followup", "", due.isoformat(), detail=note)
    zone = engine.settings.display_zone(ticket.group_key)
    notify.notice(ctx, ticket, "sla_followup_set_notice",
                  {"actor": notify.display(ctx.person), "ref": ref, "when": at(due, zone)})
    engine.refresh(ctx, ticket, repo)
    reply = (text("sla_remind_set_note", ref=ref, when=at(due, tz), note=note) if note
             else text("sla_remind_set", ref=ref, when=at(due, tz)))
    return Reply(texts=(reply,), ticket=ctx.view(ticket))


@handles(CancelFollowUps)
def cancel_followups(ctx: Ctx, cmd: CancelFollowUps) -> Reply:
    """Drop the asker's own follow-ups on a ticket (other people's stay)."""
    engine, ticket, ref = _engine_and_ticket(ctx, "remind", cmd.number)
    repo = ctx.uow.sla
    mine = [f for f in repo.pending_followups(ticket.id) if f.person_id == ctx.person.id]
    if not mine:
        raise UsageError("sla_followups_none_on", ref=ref, number=ticket.number)
    tz = ctx.person.timezone or "UTC"
    ctx.audit(ticket, "followup_cancelled", detail=", ".join(at(f.due_at, tz) for f in mine))
    repo.drop_followups(mine)
    notify.notice(ctx, ticket, "sla_followup_cancel_notice", {"actor": notify.display(ctx.person), "ref": ref})
    engine.refresh(ctx, ticket, repo)
    return Reply(texts=(text("sla_followups_cancelled", ref=ref, count=len(mine)),), ticket=ctx.view(ticket))


@handles(ListFollowUps)
def list_followups(ctx: Ctx, cmd: ListFollowUps) -> Reply:
    """The asker's follow-ups not fired yet, in their own time zone."""
    _engine(ctx, "reminders")
    ticket = ctx.uow.tickets.by_number(cmd.number) if cmd.number else None
    if cmd.number and ticket is None:
        raise UsageError("err_no_ticket", number=cmd.number)
    rows = ctx.uow.sla.waiting_followups(ctx.person.id, ticket.id if ticket else None, LISTED + 1)
    if not rows:
        if ticket is not None:
            return Reply(texts=(text("sla_followups_none_on", ref=f"#{ticket.number}", number=ticket.number),))
        return Reply(texts=(text("sla_followups_none"),))
    tz = ctx.person.timezone or "UTC"
    lines = [text("sla_followups_line", ref=f"#{number}", title=title, when=at(f.due_at, tz),
                  note=f": {f.note}" if f.note else "") for f, number, title in rows[:LISTED]]
    more = (text("sla_followups_more", count=LISTED),) if len(rows) > LISTED else ()
    return Reply(texts=(text("sla_followups_list", count=len(lines)), *lines, *more))
