"""Read models: what renderers need to draw a ticket, detached from the database session."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.models import Person, Ticket


@dataclass(frozen=True)
class PersonView:
    key: str
    name: str
    # platform → user id, so a renderer can mention the person natively.
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CommentView:
    author: str
    body: str
    at: datetime
    edited: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor: str
    action: str
    field: str
    old: str
    new: str
    detail: str


@dataclass(frozen=True)
class AttachmentView:
    platform: str
    file_id: str
    name: str
    mime_type: str


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as shown on a card (filled in by the SLA engine)."""

    name: str
    state: str
    due: datetime | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class TicketView:
    number: int
    title: str
    status: str
    priority: str
    group: str
    group_name: str
    reporter: PersonView
    assignee: PersonView | None
    created_at: datetime
    updated_at: datetime
    description: str = ""
    category: str = ""
    product: str = ""
    order_no: str = ""
    customer_name: str = ""
    customer_handle: str = ""
    shipping_address: str = ""
    replacement_tracking: str = ""
    return_tracking: str = ""
    rma: str = ""
    compensation: str = ""
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    tags: tuple[str, ...] = ()
    watchers: tuple[str, ...] = ()
    attachments: tuple[AttachmentView, ...] = ()
    comments: tuple[CommentView, ...] = ()
    comment_count: int = 0
    events: tuple[EventView, ...] = ()
    clocks: tuple[ClockView, ...] = ()
    timezone: str = "UTC"  # the desk's zone: the instants on a card are read by the whole group

    @property
    def rebound(self) -> bool:
        return self.reopen_count > 0

    @property
    def ref(self) -> str:
        return f"#{self.number}"


def person_view(person: Person | None) -> PersonView | None:
    if person is None:
        return None
    return PersonView(
        key=person.key,
        name=person.display_name or person.key,
        ids={i.platform: i.user_id for i in person.identities},
    )


def ticket_view(
    ticket: Ticket,
    group_name: str = "",
    detail: bool = False,
    clocks: tuple[ClockView, ...] = (),
    timezone: str = "UTC",
) -> TicketView:
    """Build the view; `detail` adds comments, attachments and the audit trail."""
    comments: tuple[CommentView, ...] = ()
    events: tuple[EventView, ...] = ()
    attachments: tuple[AttachmentView, ...] = ()
    if detail:
        comments = tuple(
            CommentView(
                author=c.author.display_name or c.author.key,
                body=c.body,
                at=c.created_at,
                edited=c.edited_at is not None,
                deleted=c.deleted_at is not None,
            )
            for c in ticket.comments
        )
        events = tuple(
            EventView(
                at=e.at,
                actor=(e.actor.display_name or e.actor.key) if e.actor else "Afterdesk",
                action=e.action,
                field=e.field,
                old=e.old_value,
                new=e.new_value,
                detail=e.detail,
            )
            for e in ticket.events
        )
        attachments = tuple(AttachmentView(a.platform, a.file_id, a.name, a.mime_type) for a in ticket.attachments)
    reporter = person_view(ticket.reporter)
    assert reporter is not None
    return TicketView(
        number=ticket.number,
        title=ticket.title,
        status=ticket.status,
        priority=ticket.priority,
        group=ticket.group_key,
        group_name=group_name or ticket.group_key,
        reporter=reporter,
        assignee=person_view(ticket.assignee),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        description=ticket.description,
        category=ticket.category,
        product=ticket.product,
        order_no=ticket.order_no,
        customer_name=ticket.customer_name,
        customer_handle=ticket.customer_handle,
        shipping_address=ticket.shipping_address,
        replacement_tracking=ticket.replacement_tracking,
        return_tracking=ticket.return_tracking,
        rma=ticket.rma,
        compensation=f"{ticket.compensation:.2f}" if ticket.compensation is not None else "",
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        reopen_count=ticket.reopen_count,
        tags=tuple(sorted(t.tag for t in ticket.tags)),
        watchers=tuple(w.person.display_name or w.person.key for w in ticket.watchers) if detail else (),
        attachments=attachments,
        comments=comments,
        comment_count=len(comments),
        events=events,
        clocks=clocks,
        timezone=timezone,
    )
