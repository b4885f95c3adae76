"""Changing a ticket: assignment, status, priority, order fields, watchers."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from handlers import notify
from handlers.commands import Assign, ChangePriority, ChangeStatus, Claim, SetFields, Unwatch, Watch
from handlers.desk import Ctx, handles
from handlers.lifecycle import allowed_from, is_reopen
from handlers.people import resolve_mention
from handlers.replies import Reply, UsageError, text
from handlers.tickets import LIMITS, check_length, pick
from store.models import Comment, Person, Ticket, Watcher


def _ref(ticket: Ticket) -> str:
    return f"#{ticket.number}"


def first_response(ctx: Ctx, ticket: Ticket) -> None:
    """First response: the first comment or status change by someone other than the reporter."""
    if ctx.person.key in ctx.policy.customer_side:
        return
    if ticket.first_response_at is None and ctx.person.id != ticket.reporter_id:
        ticket.first_response_at = ctx.now
        ctx.audit(ticket, "first_response", "first_response_at", "", ctx.now.isoformat())


def set_assignee(ctx: Ctx, ticket: Ticket, person: Person, claimed: bool) -> None:
    old = ticket.assignee
    if old is not None and old.id == person.id:
        raise UsageError("err_already_assigned", ref=_ref(ticket), assignee=notify.display(person))
    ticket.assignee_id = person.id
    ticket.assignee = person
    ctx.audit(ticket, "assigned", "assignee", notify.display(old) if old else "", notify.display(person))
    if ticket.status == "new":
        ticket.status = "open"
        ctx.audit(ticket, "status", "status", "new", "open")
        first_response(ctx, ticket)
    ctx.changed(ticket, "assigned")
    notify.card(ctx, ticket)
    actor = notify.display(ctx.person)
    if claimed:
        notify.notice(ctx, ticket, "n_claimed", {"actor": actor, "ref": _ref(ticket)})
    else:
        notify.notice(ctx, ticket, "n_assigned", {"actor": actor, "ref": _ref(ticket),
                                                 "assignee": notify.display(person)})
    if ctx.policy.notify_assignee:
        notify.dm(ctx, person, ticket, "dm_assigned", {"actor": actor, "ref": _ref(ticket), "title": ticket.title})


@handles(Assign)
def assign(ctx: Ctx, cmd: Assign) -> Reply:
    ticket = ctx.ticket(cmd.number)
    person = resolve_mention(ctx, cmd.assignee)
    set_assignee(ctx, ticket, person, claimed=False)
    return Reply(texts=(text("assigned", ref=_ref(ticket), assignee=notify.display(person)),),
                 ticket=ctx.view(ticket))


@handles(Claim)
def claim(ctx: Ctx, cmd: Claim) -> Reply:
    ticket = ctx.ticket(cmd.number)
    if ticket.assignee is not None and ticket.assignee_id != ctx.person.id:
        # Two people pressing Claim at once: the second is told, not silently swapped in.
        raise UsageError("err_claimed_by", ref=_ref(ticket), assignee=notify.display(ticket.assignee),
                         number=ticket.number)
    set_assignee(ctx, ticket, ctx.person, claimed=True)
    return Reply(texts=(text("claimed", ref=_ref(ticket)),), ticket=ctx.view(ticket))


def change_status(ctx: Ctx, ticket: Ticket, status: str, note: str = "", system: bool = False) -> Reply:
    """Move a ticket through the lifecycle (shared by commands, buttons and the scheduler)."""
    old = ticket.status
    ref = _ref(ticket)
    if status == old:
        raise UsageError("err_same_status", ref=ref, status=old)
    if status not in allowed_from(old):
        allowed = ", ".join(s + (" (reopen)" if is_reopen(old, s) else "") for s in allowed_from(old))
        raise UsageError("err_transition", ref=ref, status=old, allowed=allowed)
    ticket.status = status
    actor = "Afterdesk" if system else notify.display(ctx.person)
    if is_reopen(old, status):
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.closed_at = None
        ctx.audit(ticket, "reopened", "status", old, status, detail=note or f"rebound #{ticket.reopen_count}",
                  system=system)
    else:
        ctx.audit(ticket, "status", "status", old, status, detail=note, system=system)
    if status == "resolved":
        ticket.resolved_at = ctx.now
    if status == "closed":
        ticket.closed_at = ctx.now
    if not system:
        first_response(ctx, ticket)
    if note:
        ticket.comments.append(Comment(author_id=ctx.person.id, body=note, created_at=ctx.now))
    ctx.changed(ticket, "status")
    notify.card(ctx, ticket)
    if is_reopen(old, status):
        notify.notice(ctx, ticket, "n_reopened", {"actor": actor, "ref": ref, "count": ticket.reopen_count})
        reply = text("reopened", ref=ref, count=ticket.reopen_count)
    else:
        key, params = "n_status", {"actor": actor, "ref": ref, "status": status}
        if note:
            key, params = "n_status_note", {**params, "note": note}
        notify.notice(ctx, ticket, key, params)
        reply = text("status_changed", ref=ref, status=status)
    dm_params = {"ref": ref, "title": ticket.title, "status": status, "actor": actor}
    notified: set[int] = set()
    if ctx.policy.notify_reporter:
        notify.dm(ctx, ticket.reporter, ticket, "dm_status", dm_params)
        notified.add(ticket.reporter_id)
    if ctx.policy.notify_watchers:
        for w in ticket.watchers:
            if w.person_id not in notified:
                notify.dm(ctx, w.person, ticket, "dm_status", dm_params)
                notified.add(w.person_id)
    return Reply(texts=(reply,), ticket=ctx.view(ticket))


@handles(ChangeStatus)
def status(ctx: Ctx, cmd: ChangeStatus) -> Reply:
    return change_status(ctx, ctx.ticket(cmd.number), cmd.status, cmd.note.strip())


@handles(ChangePriority)
def priority(ctx: Ctx, cmd: ChangePriority) -> Reply:
    ticket = ctx.ticket(cmd.number)
    old = ticket.priority
    if old == cmd.priority:
        raise UsageError("err_same_priority", ref=_ref(ticket), priority=old)
    ticket.priority = cmd.priority
    ctx.audit(ticket, "priority", "priority", old, cmd.priority)
    ctx.changed(ticket, "priority")
    notify.card(ctx, ticket)
    notify.notice(ctx, ticket, "n_priority", {"actor": notify.display(ctx.person), "ref": _ref(ticket),
                                              "old": old, "new": cmd.priority})
    return Reply(texts=(text("priority_changed", ref=_ref(ticket), priority=cmd.priority),), ticket=ctx.view(ticket))


def _field_value(ctx: Ctx, name: str, value: str) -> object:
    value = value.strip()
    if name == "compensation":
        try:
            amount = Decimal(value.replace(",", "").removeprefix("¥").removeprefix("$"))
        except InvalidOperation:
            raise UsageError("err_bad_amount", value=value) from None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
            raise UsageError("err_bad_amount", value=value)
        return amount.quantize(Decimal("0.01"))
    if name == "category":
        return pick(value, ctx.policy.categories, "err_unknown_category")
    if name == "product":
        return pick(value, ctx.policy.products, "err_unknown_product")
    check_length(name, value)
    if name not in LIMITS and len(value) > 200:
        raise UsageError("err_too_long", field=name, length=len(value), limit=200)
    return value


@handles(SetFields)
def set_fields(ctx: Ctx, cmd: SetFields) -> Reply:
    ticket = ctx.ticket(cmd.number)
    changes: list[str] = []
    for name, raw in cmd.fields:
        new = _field_value(ctx, name, raw)
        old = getattr(ticket, name)
        if old == new:
            continue
        setattr(ticket, name, new)
        ctx.audit(ticket, "field", name, "" if old is None else old, new)
        changes.append(f"{name.replace('_', ' ')} → {new}")
    if changes:
        ctx.changed(ticket, "fields")
        notify.card(ctx, ticket)
        notify.notice(ctx, ticket, "n_fields", {"actor": notify.display(ctx.person), "ref": _ref(ticket),
                                                "fields": "; ".join(changes)})
    summary = (text("fields_updated", ref=_ref(ticket), fields="; ".join(changes)) if changes
               else text("fields_unchanged", ref=_ref(ticket)))
    return Reply(texts=(summary,), ticket=ctx.view(ticket))


@handles(Watch)
def watch(ctx: Ctx, cmd: Watch) -> Reply:
    ticket = ctx.ticket(cmd.number)
    if any(w.person_id == ctx.person.id for w in ticket.watchers):
        raise UsageError("err_already_watching", ref=_ref(ticket))
    ticket.watchers.append(Watcher(person_id=ctx.person.id))
    ctx.audit(ticket, "watch", "watchers", "", ctx.person.display_name)
    return Reply(texts=(text("watching", ref=_ref(ticket)),))


@handles(Unwatch)
def unwatch(ctx: Ctx, cmd: Unwatch) -> Reply:
    ticket = ctx.ticket(cmd.number)
    mine = [w for w in ticket.watchers if w.person_id == ctx.person.id]
    if not mine:
        raise UsageError("err_not_watching", ref=_ref(ticket))
    ticket.watchers.remove(mine[0])
    ctx.audit(ticket, "unwatch", "watchers", ctx.person.display_name, "")
    return Reply(texts=(text("unwatched", ref=_ref(ticket)),))
