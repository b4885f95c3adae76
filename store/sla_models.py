"""SLA tables: pause intervals, fired reminders, acknowledgements, follow-ups and digest runs.

The deadlines themselves live on the ticket (`first_response_due`, `resolution_due`, `sla_next_at`);
these rows are the memory that makes every alert fire once and lets it be cleared later.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UTCDateTime


class SlaPause(Base):
    """A span during which a ticket's resolution clock stood still (waiting, or resolved until a rebound)."""

    __tablename__ = "sla_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # "waiting" (on the customer or a third party) or "done" (resolved/closed: a rebound resumes the clock)
    reason: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SlaReminder(Base):
    """One alert that fired: the UNIQUE key makes it fire once per (ticket, kind, deadline), across processes."""

    __tablename__ = "sla_reminders"
    __table_args__ = (UniqueConstraint("ticket_id", "kind", "deadline", name="uq_sla_reminder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # "<clock>.warn" | "<clock>.breach" | "<clock>.escalate" | "unclaimed"
    kind: Mapped[str] = mapped_column(String(40))
    clock: Mapped[str] = mapped_column(String(20), default="")
    # The instant this alert was for (a reminder's clock deadline, an escalation's own time).
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # The clock's due time when it fired (escalations of one breach share it).
    clock_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleared_reason: Mapped[str] = mapped_column(String(40), default="")
    # Outbox rows of the messages it sent, so they can be edited when the condition clears.
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class SlaAck(Base):
    """Someone pressed Acknowledge on a breach: its re-escalations stop."""

    __tablename__ = "sla_acks"
    __table_args__ = (UniqueConstraint("ticket_id", "clock", "clock_due", name="uq_sla_ack"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    clock: Mapped[str] = mapped_column(String(20))
    clock_due: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaFollowUp(Base):
    """`/ticket remind N <when> [text]`: a reminder for the person who asked."""

    __tablename__ = "sla_followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    late: Mapped[bool] = mapped_column(default=False)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class DigestRun(Base):
    """A daily digest sent: the UNIQUE key makes it once per (recipient, local date)."""

    __tablename__ = "sla_digest_runs"
    __table_args__ = (UniqueConstraint("recipient", "day", name="uq_sla_digest_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
