"""Queries of the SLA engine: due tickets (index only), its own rows, and the digest's figures."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import AuditEvent, Person, Ticket, open_due, open_since
from store.sla_models import DigestRun, SlaAck, SlaFollowUp, SlaPause, SlaReminder

OPEN = ("new", "open", "waiting")
DONE = ("resolved", "closed")


@dataclass(frozen=True)
class Attained:
    """(met, total) of the first-response and resolution clocks that concluded in a window."""

    first_response: tuple[int, int]
    resolution: tuple[int, int]


@dataclass
class TicketSlaRows:
    """One ticket's SLA rows, loaded for many tickets at once (see SlaRepository.rows_of)."""

    pauses: list[SlaPause] = field(default_factory=list)
    reminders: list[SlaReminder] = field(default_factory=list)
    acks: list[SlaAck] = field(default_factory=list)
    followups: list[SlaFollowUp] = field(default_factory=list)


class SlaRepository:
    def __init__(self, session: Session, new_tickets: set[int] | None = None) -> None:
        self.session = session
        # SLA rows of tickets loaded up front (see preload): their reads below answer from memory.
        self._loaded: dict[int, TicketSlaRows] = {}
        # Tickets created by this transaction (see UnitOfWork): they have no SLA rows until we add one.
        self.new_tickets = set() if new_tickets is None else new_tickets

    # --- the sweep ------------------------------------------------------------------------------

    def claim_due(self, now: datetime, skip: Collection[int] = (), limit: int = 1) -> list[int]:
        """Lock up to `limit` tickets whose next SLA event is due, earliest first; peers skip locked rows.

        Reads the `sla_next_at` index only: a sweep with nothing due touches no ticket row. On
        PostgreSQL `FOR UPDATE SKIP LOCKED` lets several processes share the work; SQLite renders
        no locking clause, the write lock taken by BEGIN IMMEDIATE serializes instead.
        """
        stmt = select(Ticket.id).where(Ticket.sla_next_at <= now)
        if skip:
            stmt = stmt.where(Ticket.id.not_in(list(skip)))
        stmt = stmt.order_by(Ticket.sla_next_at).limit(limit).with_for_update(skip_locked=True)
        return list(self.session.execute(stmt).scalars())

    def postpone(self, ticket_id: int, until: datetime) -> None:
        self.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(sla_next_at=until))

    # --- catching up on start -------------------------------------------------------------------

    def open_rows(self, after_id: int, limit: int) -> Sequence[Any]:
        """The next `limit` open tickets (new, open, waiting) by id after `after_id`, unlocked; their columns
        as read-only rows (a fraction of the cost of ORM objects, for the many that only need a look)."""
        stmt = (select(*Ticket.__table__.c).where(Ticket.status.in_(OPEN), Ticket.id > after_id)
                .order_by(Ticket.id).limit(limit))
        return self.session.execute(stmt).all()

    def lock_open_rows_of(self, ids: Collection[int]) -> Sequence[Any]:
        """Lock these tickets, those still open, in id order; their columns as read-only rows.

        A row another transaction holds (a command, a peer catching up) is waited for, not skipped, so no
        ticket is missed; locking in id order keeps two catching-up peers from deadlocking, and the second
        finds the rows the first brought up to date. SQLite renders no locking clause (BEGIN IMMEDIATE)."""
        stmt = (select(*Ticket.__table__.c).where(Ticket.id.in_(list(ids)), Ticket.status.in_(OPEN))
                .order_by(Ticket.id).with_for_update())
        return self.session.execute(stmt).all()

    def tickets(self, ids: Collection[int]) -> Sequence[Ticket]:
        stmt = select(Ticket).where(Ticket.id.in_(list(ids))).order_by(Ticket.id)
        return self.session.execute(stmt).unique().scalars().all()

    def preload(self, ids: Collection[int]) -> None:
        """Load the SLA rows of these locked tickets in four queries. Until the unit of work ends, pauses(),
        reminders(), acks() and pending_followups() of them answer from memory, and rows added through this
        repository join them: nobody else writes them while their tickets are locked."""
        self._loaded.update(self.rows_of([i for i in ids if i not in self._loaded]))

    def rows_of(self, ids: Collection[int], plain: bool = False) -> dict[int, TicketSlaRows]:
        """Pauses, alerts, acknowledgements and pending follow-ups of many tickets: four queries in all.

        `plain`: read-only rows of their columns (alerts without their message ids) instead of ORM objects,
        several times cheaper to load — enough to tell whether a ticket's stored deadlines are current."""
        out = {ticket_id: TicketSlaRows() for ticket_id in ids}
        wanted = list(ids)

        def load(model: type, *where: Any, order: Sequence[Any] = ()) -> Any:
            if plain:
                columns = [c for c in model.__table__.c if c.name != "message_ids"]  # type: ignore[attr-defined]
                return self.session.execute(select(*columns).where(model.ticket_id.in_(wanted), *where)
                                            .order_by(*order)).all()
            return self.session.execute(select(model).where(model.ticket_id.in_(wanted), *where)
                                        .order_by(*order)).scalars()

        for pause in load(SlaPause, order=(SlaPause.started_at, SlaPause.id)):
            out[pause.ticket_id].pauses.append(pause)
        for reminder in load(SlaReminder, order=(SlaReminder.id,)):
            out[reminder.ticket_id].reminders.append(reminder)
        for ack in load(SlaAck):
            out[ack.ticket_id].acks.append(ack)
        for followup in load(SlaFollowUp, SlaFollowUp.fired_at.is_(None), order=(SlaFollowUp.due_at, SlaFollowUp.id)):
            out[followup.ticket_id].followups.append(followup)
        return out

    # --- pauses, reminders, acknowledgements, follow-ups ------------------------------------------

    def pauses(self, ticket_id: int) -> Sequence[SlaPause]:
        if ticket_id in self._loaded:
            return list(self._loaded[ticket_id].pauses)
        if ticket_id in self.new_tickets:
            return ()
        return self.session.execute(
            select(SlaPause).where(SlaPause.ticket_id == ticket_id).order_by(SlaPause.started_at, SlaPause.id)
        ).scalars().all()

    def add(self, row: SlaPause | SlaAck | SlaFollowUp) -> None:
        self.new_tickets.discard(row.ticket_id)
        self.session.add(row)
        self._join(row)

    def _join(self, row: object) -> None:
        """A row added for a preloaded ticket joins its rows in memory."""
        loaded = self._loaded.get(getattr(row, "ticket_id", None))  # type: ignore[arg-type]
        if loaded is not None:
            for kind, rows in ((SlaPause, loaded.pauses), (SlaReminder, loaded.reminders), (SlaAck, loaded.acks),
                               (SlaFollowUp, loaded.followups)):
                if isinstance(row, kind):
                    rows.append(row)  # type: ignore[arg-type]

    def reminders(self, ticket_id: int) -> Sequence[SlaReminder]:
        if ticket_id in self._loaded:
            return list(self._loaded[ticket_id].reminders)
        if ticket_id in self.new_tickets:
            return ()
        return self.session.execute(
            select(SlaReminder).where(SlaReminder.ticket_id == ticket_id).order_by(SlaReminder.id)
        ).scalars().all()

    def add_once(self, row: SlaReminder | DigestRun) -> bool:
        """Insert a row guarded by a UNIQUE key; False (and nothing written) if it already exists."""
        loaded = self._loaded.get(row.ticket_id) if isinstance(row, SlaReminder) else None
        if loaded is not None:
            # Its ticket is locked and its alerts are in memory: no savepoint needed to see the key taken.
            # Should one slip in anyway, the UNIQUE key refuses it at flush and the transaction fails.
            if any(r.kind == row.kind and r.deadline == row.deadline for r in loaded.reminders):
                return False
            self.session.add(row)
            loaded.reminders.append(row)  # type: ignore[arg-type]
            return True
        if isinstance(row, SlaReminder):
            self.new_tickets.discard(row.ticket_id)
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return False
        self._join(row)
        return True

    def acks(self, ticket_id: int) -> Sequence[SlaAck]:
        if ticket_id in self._loaded:
            return list(self._loaded[ticket_id].acks)
        if ticket_id in self.new_tickets:
            return ()
        return self.session.execute(select(SlaAck).where(SlaAck.ticket_id == ticket_id)).scalars().all()

    def pending_followups(self, ticket_id: int) -> Sequence[SlaFollowUp]:
        if ticket_id in self._loaded:
            pending = [f for f in self._loaded[ticket_id].followups if f.fired_at is None]
            return sorted(pending, key=lambda f: (f.due_at, f.id is None, f.id or 0))
        if ticket_id in self.new_tickets:
            return ()
        return self.session.execute(
            select(SlaFollowUp)
            .where(SlaFollowUp.ticket_id == ticket_id, SlaFollowUp.fired_at.is_(None))
            .order_by(SlaFollowUp.due_at, SlaFollowUp.id)
        ).scalars().all()

    def drop_followups(self, rows: Sequence[SlaFollowUp]) -> None:
        """Cancelled follow-ups go, from a preloaded ticket's rows in memory too."""
        for row in rows:
            loaded = self._loaded.get(row.ticket_id)
            if loaded is not None and row in loaded.followups:
                loaded.followups.remove(row)
            self.session.delete(row)

    def waiting_followups(self, person_id: int, ticket_id: int | None, limit: int
                          ) -> Sequence[tuple[SlaFollowUp, int, str]]:
        """A person's follow-ups not fired yet (on one ticket, or all), soonest first, with their ticket's
        number and title."""
        stmt = (select(SlaFollowUp, Ticket.number, Ticket.title).join(Ticket, Ticket.id == SlaFollowUp.ticket_id)
                .where(SlaFollowUp.person_id == person_id, SlaFollowUp.fired_at.is_(None)))
        if ticket_id is not None:
            stmt = stmt.where(SlaFollowUp.ticket_id == ticket_id)
        return self.session.execute(stmt.order_by(SlaFollowUp.due_at, SlaFollowUp.id).limit(limit)).all()  # type: ignore[return-value]

    def person(self, person_id: int | None) -> Person | None:
        return self.session.get(Person, person_id) if person_id else None

    # --- digests ----------------------------------------------------------------------------------

    def digest_sent(self, recipient: str, day: date) -> bool:
        return self.session.execute(
            select(DigestRun.id).where(DigestRun.recipient == recipient, DigestRun.day == day)
        ).first() is not None

    @staticmethod
    def _in_groups(stmt, groups: Collection[str]):  # type: ignore[no-untyped-def]
        return stmt.where(Ticket.group_key.in_(list(groups))) if groups else stmt

    def count_created(self, start: datetime, end: datetime, groups: Collection[str]) -> int:
        stmt = select(func.count(Ticket.id)).where(Ticket.created_at >= start, Ticket.created_at < end)
        return self.session.execute(self._in_groups(stmt, groups)).scalar_one()

    def count_resolved(self, start: datetime, end: datetime, groups: Collection[str]) -> int:
        stmt = select(func.count(Ticket.id)).where(Ticket.resolved_at >= start, Ticket.resolved_at < end)
        return self.session.execute(self._in_groups(stmt, groups)).scalar_one()

    def count_reopened(self, start: datetime, end: datetime, groups: Collection[str]) -> int:
        # The action as a literal: ix_audit_events_reopened_at is a partial index for that very condition.
        stmt = (
            select(func.count(AuditEvent.id))
            .join(Ticket, Ticket.id == AuditEvent.ticket_id)
            .where(AuditEvent.action == literal_column("'reopened'"), AuditEvent.at >= start, AuditEvent.at < end)
        )
        return self.session.execute(self._in_groups(stmt, groups)).scalar_one()

    def backlog_by(self, column: str, groups: Collection[str]) -> list[tuple[str, int]]:
        """Open tickets counted by status, group_key or assignee (display name; '' for nobody)."""
        # Counted in the order of the (status, group_key, assignee_id) index, without reading a ticket row,
        # then summed by the column (people named last: a join first would read every open ticket's row).
        per = (self._in_groups(select(Ticket.status, Ticket.group_key, Ticket.assignee_id, func.count().label("n"))
                               .where(Ticket.status.in_(OPEN)), groups)
               .group_by(Ticket.status, Ticket.group_key, Ticket.assignee_id).subquery())
        key = func.coalesce(Person.display_name, "") if column == "assignee" else per.c[column]
        stmt = select(key, func.sum(per.c.n)).select_from(per)
        if column == "assignee":
            stmt = stmt.outerjoin(Person, Person.id == per.c.assignee_id)
        rows = self.session.execute(stmt.group_by(key)).all()
        return sorted(((str(k or ""), int(n)) for k, n in rows), key=lambda kv: (-kv[1], kv[0]))

    def attainment(self, windows: Sequence[tuple[datetime, datetime]], now: datetime,
                   groups: Collection[str]) -> list[Attained]:
        """SLA attainment per window [start, end): a met clock counts when it finished, a missed one at its
        deadline (once past `now`), so each clock is counted once, whatever happened later.

        Summed in SQL over the tickets with a clock instant in the windows, found on the instants' indexes."""
        lo, hi = min(start for start, _ in windows), max(end for _, end in windows)
        done = case((Ticket.status.in_(DONE), func.coalesce(Ticket.resolved_at, Ticket.closed_at)))
        clocks = ((Ticket.first_response_due, func.coalesce(Ticket.first_response_at, done)),
                  (Ticket.resolution_due, done))
        sums = []
        for start, end in windows:
            for due, finished in clocks:
                met = and_(finished <= due, finished >= start, finished < end)
                missed = and_(or_(finished.is_(None), finished > due), due >= start, due < end, due < now)
                sums += [func.count(case((met, 1))), func.count(case((missed, 1)))]
        instants = (Ticket.first_response_at, Ticket.first_response_due, Ticket.resolved_at, Ticket.closed_at,
                    Ticket.resolution_due)
        stmt = select(*sums).where(or_(*(and_(column >= lo, column < hi) for column in instants)))
        n = [int(v) for v in self.session.execute(self._in_groups(stmt, groups)).one()]
        return [Attained((n[i], n[i] + n[i + 1]), (n[i + 2], n[i + 2] + n[i + 3])) for i in range(0, len(n), 4)]

    def open_due(self, start: datetime | None, end: datetime, limit: int,
                 groups: Collection[str]) -> tuple[int, Sequence[Ticket]]:
        """Open tickets whose earliest running deadline falls in [start, end) (`start` None: any time before
        `end`): how many, and the first `limit` by number. Both read the ix_tickets_open_due index, not
        the open tickets' rows."""
        due = open_due(Ticket)
        within = [due < end] if start is None else [due >= start, due < end]
        count = self.session.execute(self._in_groups(select(func.count()).select_from(Ticket).where(*within),
                                                     groups)).scalar_one()
        # `number + 0`: SQLite would otherwise walk the number index and read row after row until it had
        # `limit` due ones; sorting what the range holds is bounded by the open tickets.
        first = self._in_groups(select(Ticket.id).where(*within), groups).order_by(Ticket.number + 0).limit(limit)
        tickets = self.session.execute(select(Ticket).where(Ticket.id.in_(first)).order_by(Ticket.number))
        return int(count), tickets.unique().scalars().all()

    def oldest_open(self, limit: int, groups: Collection[str]) -> Sequence[Ticket]:
        """The head of ix_tickets_open_since (by creation, then id): never a walk through done tickets."""
        since = open_since(Ticket)
        stmt = self._in_groups(select(Ticket).where(since.is_not(None)), groups)
        return self.session.execute(stmt.order_by(since, Ticket.id).limit(limit)).scalars().all()

    def top(self, column: str, start: datetime, end: datetime, limit: int,
            groups: Collection[str]) -> list[tuple[str, int]]:
        """The most frequent categories or products among tickets created in [start, end)."""
        key = getattr(Ticket, column)
        stmt = select(key, func.count(Ticket.id)).where(Ticket.created_at >= start, Ticket.created_at < end, key != "")
        stmt = self._in_groups(stmt, groups).group_by(key).order_by(func.count(Ticket.id).desc(), key).limit(limit)
        return [(str(k), int(n)) for k, n in self.session.execute(stmt).all()]
