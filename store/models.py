"""SQLAlchemy 2 typed models: the ticket, its people, its history and its outgoing messages."""
from __future__ import annotations

from datetime import datetime, UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement, Grouping
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite returns naive ones, so we re-attach UTC on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use the injected clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    identities: Mapped[list[Identity]] = relationship(
        back_populates="person", lazy="selectin", order_by="Identity.id"
    )


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id", name="uq_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(100), default="", index=True)
    # A Telegram bot may only DM people who started it; Slack can always DM.
    can_dm: Mapped[bool] = mapped_column(default=True)
    person: Mapped[Person] = relationship(back_populates="identities")


def _once_set(column: str) -> Index:
    """An index of a ticket's instant, only where it is set: inserting a ticket leaves it alone."""
    only_set = text(f"{column} IS NOT NULL")
    return Index(f"ix_tickets_{column}", column, sqlite_where=only_set, postgresql_where=only_set)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The backlog (by status, group and assignee) is counted from this index alone.
        Index("ix_tickets_status_group_assignee", "status", "group_key", "assignee_id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        # The digest's activity and attainment are ranges of the clock instants and deadlines.
        *(_once_set(column) for column in ("first_response_at", "resolved_at", "closed_at")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    product: Mapped[str] = mapped_column(String(100), default="", index=True)
    order_no: Mapped[str] = mapped_column(String(100), default="", index=True)
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_handle: Mapped[str] = mapped_column(String(200), default="", index=True)
    shipping_address: Mapped[str] = mapped_column(Text, default="")
    replacement_tracking: Mapped[str] = mapped_column(String(100), default="")
    return_tracking: Mapped[str] = mapped_column(String(100), default="")
    rma: Mapped[str] = mapped_column(String(100), default="")
    compensation: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    group_key: Mapped[str] = mapped_column(String(100), default="")
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # SLA deadlines live on the ticket; the sweep reads only rows whose next SLA event is due.
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    sla_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)

    reporter: Mapped[Person] = relationship(foreign_keys=[reporter_id], lazy="joined")
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="ticket", order_by="Comment.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[AuditEvent]] = relationship(
        order_by="AuditEvent.id", cascade="all, delete-orphan"
    )
    watchers: Mapped[list[Watcher]] = relationship(cascade="all, delete-orphan")
    tags: Mapped[list[TicketTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    threads: Mapped[list[TicketThread]] = relationship(order_by="TicketThread.id")

    @property
    def is_rebound(self) -> bool:
        return self.reopen_count > 0


OPEN_STATUSES = ("new", "open", "waiting")


def _while_open(t: Any, value: Any) -> ColumnElement[datetime]:
    # Literals, not bound parameters: SQLite and PostgreSQL use an index on an expression only for a query
    # that spells the very same expression. No status term is left for the planner to pick another index by.
    is_open = t.status.in_([literal_column(f"'{status}'") for status in OPEN_STATUSES])
    return case((is_open, value))


def open_due(t: Any) -> ColumnElement[datetime]:
    """An open ticket's earliest running deadline (the first response while unanswered, else the resolution;
    the first response on a tie); NULL for a done ticket or one with no running clock.
    `t` is the tickets table's columns (`Ticket` or `Ticket.__table__.c`)."""
    first_runs = and_(t.first_response_at.is_(None), t.first_response_due.is_not(None),
                      or_(t.resolution_due.is_(None), t.first_response_due <= t.resolution_due))
    return _while_open(t, case((first_runs, t.first_response_due), else_=t.resolution_due))


def open_since(t: Any) -> ColumnElement[datetime]:
    """An open ticket's creation time; NULL for a done one."""
    return _while_open(t, t.created_at)


# Partial indexes over open tickets only. Breached and due-soon tickets are a range of the first (counted
# without reading a ticket row, listed by number from it); the oldest open ones are the head of the second.
# (PostgreSQL wants an indexed expression in parentheses: Grouping.)
_t = Ticket.__table__.c
Index("ix_tickets_open_due", Grouping(open_due(_t)), _t.group_key, _t.number,
      sqlite_where=open_due(_t).is_not(None), postgresql_where=open_due(_t).is_not(None))
Index("ix_tickets_open_since", Grouping(open_since(_t)),
      sqlite_where=open_since(_t).is_not(None), postgresql_where=open_since(_t).is_not(None))


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("source_platform", "source_chat", "source_message_id", name="uq_comment_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    source_platform: Mapped[str | None] = mapped_column(String(20), nullable=True)
    source_chat: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ticket: Mapped[Ticket] = relationship(back_populates="comments")
    author: Mapped[Person] = relationship(lazy="joined")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), nullable=True)
    platform: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    mime_type: Mapped[str] = mapped_column(String(100), default="")
    added_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # The digest counts the reopenings of a day; only they are indexed, other events leave it alone.
    __table_args__ = (Index("ix_audit_events_reopened_at", "at", sqlite_where=text("action = 'reopened'"),
                            postgresql_where=text("action = 'reopened'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(60), default="")
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[Person | None] = relationship(lazy="joined")


class Watcher(Base):
    __tablename__ = "watchers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    person: Mapped[Person] = relationship(lazy="joined")


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class TicketThread(Base):
    """A chat conversation that carries a ticket: its card and the replies under it."""

    __tablename__ = "ticket_threads"
    __table_args__ = (UniqueConstraint("ticket_id", "platform", "chat_id", name="uq_ticket_thread"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    card_message_id: Mapped[str] = mapped_column(String(64))
    # Telegram forum topic id; a Slack thread is rooted at the card itself.
    topic_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatMessage(Base):
    """Every bot message that belongs to a ticket, so a reply to any of them maps back."""

    __tablename__ = "chat_messages"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id", name="uq_chat_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))


class OutboxMessage(Base):
    """A notification written with the change that caused it; delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Each chat's queue in order: the dispatcher reads only the heads of the queues.
        Index("ix_outbox_queue", "status", "destination", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str] = mapped_column(String(20))
    # Delivery order and pacing are per destination (a channel, or a person's DM).
    destination: Mapped[str] = mapped_column(String(120), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Which dispatcher holds the lease: a process that outlived its lease must not send the row too.
    lease_owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result_chat_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class InboxItem(Base):
    """A chat request acknowledged to the platform but not yet run: kept until the command's own transaction
    deletes it, so a crash between the two replays it instead of losing it."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    command: Mapped[dict[str, Any]] = mapped_column(JSON)


class ProcessedEvent(Base):
    """Keys of platform deliveries already handled: a redelivery hits the UNIQUE key."""

    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class FormSession(Base):
    """A guided form in progress (Telegram): kept here, not in memory, so restarts lose nothing."""

    __tablename__ = "form_sessions"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id", name="uq_form_session"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
