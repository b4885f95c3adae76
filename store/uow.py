"""Unit of work: one transaction per command, with every repository it may touch."""
from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.db import READ_ONLY
from store.errors import DuplicateDelivery
from store.models import AuditEvent, Ticket
from store.inbox_repository import InboxRepository
from store.outbox_repository import OutboxRepository
from store.sla_repository import SlaRepository
from store.repositories import (
    DedupRepository,
    FormRepository,
    PersonRepository,
    ThreadRepository,
    TicketRepository,
)


# On the table, not the mapped class: skips the ORM's bulk-insert bookkeeping for write-once rows.
_AUDIT_INSERT = insert(AuditEvent.__table__)


class UnitOfWork:
    """`with uow:` opens a transaction; `commit()` makes it durable; leaving without commit rolls back."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        # Tickets inserted by this transaction: no other one can have rows hanging off them yet,
        # so repositories answer "none" for them without a query (creating a ticket is the hot path).
        self.new_tickets: set[int] = set()
        self._audits: list[tuple[Ticket, dict[str, Any]]] = []
        self.tickets = TicketRepository(self.session, self.new_tickets)
        self.people = PersonRepository(self.session)
        self.threads = ThreadRepository(self.session, self.new_tickets)
        self.outbox = OutboxRepository(self.session)
        self.dedup = DedupRepository(self.session)
        self.forms = FormRepository(self.session)
        self.inbox = InboxRepository(self.session)
        self.sla = SlaRepository(self.session, self.new_tickets)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() ends any open transaction (rolling it back) but, unlike rollback(), leaves
        # loaded attributes readable: callers build views from objects after the block.
        self.session.close()

    def next_command(self) -> None:
        """Several commands share this transaction: for the next one, what earlier ones created is not new
        any more (they may have hung rows off it), so repositories ask the database again."""
        self.new_tickets.clear()

    def read_back(self, ticket: Ticket) -> None:
        """Before a ticket's history is shown: what this transaction wrote goes in (audit events wait for
        the commit otherwise), and its comments, events and attachments are read again — earlier commands
        of the same batch may have added to them."""
        self.flush()
        self.session.expire(ticket, ["comments", "events", "attachments"])

    def flush(self) -> None:
        """Flush now, so a dedup-key race is detected before any side effect is built."""
        try:
            self.session.flush()
            self._write_buffered()
        except IntegrityError as exc:
            self._raise_duplicate_or(exc)

    def audit(self, ticket: Ticket, **values: Any) -> None:
        """Record an audit event of `ticket`; written with the next flush or the commit, in this order."""
        self._audits.append((ticket, values))

    def _write_buffered(self) -> None:
        # One multi-row INSERT each for audit events and notifications instead of an ORM object per row:
        # both are write-once, and tracking them in the unit of work was a third of creating a ticket.
        tickets = [ticket for ticket, _ in self._audits] + [t for t in self.outbox.tickets_queued if t is not None]
        if any(ticket.id is None for ticket in tickets):
            self.session.flush()
        if self._audits:
            rows = [{"ticket_id": ticket.id, **values} for ticket, values in self._audits]
            self._audits.clear()
            self.session.execute(_AUDIT_INSERT, rows)
        self.outbox.write_queued()

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def refresh(self, obj: object) -> None:
        """Reload an object's state (and relationships) from the database inside this transaction."""
        self.session.refresh(obj)

    def commit(self) -> None:
        """Commit; a concurrent redelivery that won the dedup race surfaces as DuplicateDelivery."""
        try:
            self._write_buffered()
            self.session.commit()
        except IntegrityError as exc:
            self._raise_duplicate_or(exc)

    def _raise_duplicate_or(self, exc: IntegrityError) -> None:
        self.session.rollback()
        if "processed_events" in f"{exc.orig} {exc.statement or ''}":
            raise DuplicateDelivery() from None
        raise exc

    def rollback(self) -> None:
        self._audits.clear()
        self.outbox.forget_queued()
        self.session.rollback()


class UnitOfWorkFactory:
    """What handlers receive: call it to get a fresh unit of work."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        engine = session_factory.kw["bind"]
        self._reader = sessionmaker(bind=engine.execution_options(**READ_ONLY), expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def read_only(self) -> UnitOfWork:
        """For reports that change nothing (the digest): on SQLite it reads a snapshot beside the writer
        instead of queuing for the write lock, so a long report never holds up a command."""
        return UnitOfWork(self._reader)
