"""Creating and finding tickets."""
from __future__ import annotations

from handlers import notify
from handlers.commands import CreateTicket, Help, Mine, Search, ShowTicket
from handlers.desk import Ctx, handles
from handlers.lifecycle import PRIORITIES, normalize_priority
from handlers.people import resolve_mention
from handlers.replies import Reply, UsageError, text
from store.models import Attachment, Ticket, TicketTag

LIMITS = {"title": 300, "order_no": 100, "customer_name": 200, "customer_handle": 200, "category": 100,
          "product": 100, "shipping_address": 1000, "description": 20000}


def check_length(field: str, value: str) -> None:
    limit = LIMITS.get(field)
    if limit and len(value) > limit:
        raise UsageError("err_too_long", field=field, length=len(value), limit=limit)


def pick(value: str, allowed: tuple[str, ...], error: str) -> str:
    """Match a configured category/product case-insensitively; free text if none configured."""
    if not value or not allowed:
        return value
    for option in allowed:
        if option.lower() == value.lower():
            return option
    raise UsageError(error, value=value, allowed=", ".join(allowed))


@handles(CreateTicket)
def create_ticket(ctx: Ctx, cmd: CreateTicket) -> Reply:
    policy = ctx.policy
    fields = {
        "title": cmd.title.strip(), "description": cmd.description.strip(), "order_no": cmd.order_no.strip(),
        "customer_name": cmd.customer_name.strip(), "customer_handle": cmd.customer_handle.strip(),
        "shipping_address": cmd.shipping_address.strip(),
        "category": pick(cmd.category.strip(), policy.categories, "err_unknown_category"),
        "product": pick(cmd.product.strip(), policy.products, "err_unknown_product"),
    }
    if not fields["title"]:
        raise UsageError("err_no_summary")
    for name, value in fields.items():
        check_length(name, value)
    priority = normalize_priority(cmd.priority) if cmd.priority else "normal"
    if priority is None:
        raise UsageError("err_unknown_priority", value=cmd.priority, allowed=", ".join(PRIORITIES))
    if cmd.group:
        if cmd.group not in policy.groups:
            raise UsageError("err_unknown_group", value=cmd.group, allowed=", ".join(policy.groups))
        group, reason = cmd.group, f"chosen by {ctx.person.display_name}"
    else:
        group, reason = policy.route(fields["category"], fields["product"], f"{fields['title']} {fields['description']}")
    assignee = resolve_mention(ctx, cmd.assignee) if cmd.assignee else None
    if assignee is None and policy.groups[group].default_assignee:
        assignee = ctx.uow.people.by_key(policy.groups[group].default_assignee)

    # Built whole before the insert (relationships set, collections given), so nothing is read back after it.
    ticket = Ticket(
        number=ctx.uow.tickets.next_number(policy.first_number), status="open" if assignee else "new",
        priority=priority, group_key=group, reporter=ctx.person, assignee=assignee,
        created_at=ctx.now, updated_at=ctx.now, reopen_count=0, comments=[], watchers=[], threads=[],
        tags=[TicketTag(tag=t[:60]) for t in dict.fromkeys(cmd.tags)],
        attachments=[Attachment(platform=f.platform, file_id=f.file_id, name=f.name, mime_type=f.mime_type,
                                added_by_id=ctx.person.id, created_at=ctx.now) for f in cmd.attachments],
        **fields,
    )
    ctx.audit(ticket, "created", detail=ticket.title)
    ctx.audit(ticket, "routed", "group", "", group, detail=reason)
    if assignee:
        ctx.audit(ticket, "assigned", "assignee", "", assignee.display_name)
        ctx.audit(ticket, "status", "status", "new", "open")
    ctx.changed(ticket, "created")
    ctx.uow.tickets.add(ticket)
    notify.card(ctx, ticket)
    ref = f"#{ticket.number}"
    if assignee:
        notify.dm(ctx, assignee, ticket, "dm_assigned", {"actor": notify.display(ctx.person), "ref": ref,
                                                          "title": ticket.title})
    created = (text("created_assigned", ref=ref, title=ticket.title, group=policy.group_name(group),
                    assignee=assignee.display_name) if assignee
               else text("created", ref=ref, title=ticket.title, group=policy.group_name(group)))
    return Reply(texts=(created,), ticket=ctx.view(ticket))


@handles(ShowTicket)
def show_ticket(ctx: Ctx, cmd: ShowTicket) -> Reply:
    ticket = ctx.ticket(cmd.number)
    return Reply(ticket=ctx.view(ticket, detail=True), detail=True)


@handles(Search)
def search(ctx: Ctx, cmd: Search) -> Reply:
    found = ctx.uow.tickets.search(cmd.query)
    if not found:
        return Reply(texts=(text("search_none", query=cmd.query),))
    return Reply(texts=(text("search_results", count=len(found), query=cmd.query),),
                 tickets=tuple(ctx.view(t) for t in found))


@handles(Mine)
def mine(ctx: Ctx, cmd: Mine) -> Reply:
    found = ctx.uow.tickets.open_assigned_to(ctx.person.id)
    if not found:
        return Reply(texts=(text("mine_none"),))
    return Reply(texts=(text("mine", count=len(found)),), tickets=tuple(ctx.view(t) for t in found))


@handles(Help)
def help_(ctx: Ctx, cmd: Help) -> Reply:
    return Reply(texts=(text("help"),))
