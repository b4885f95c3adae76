"""The outbox's queries: what is due, who holds a lease, what must wait for what."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import CTE

from store.models import OutboxMessage, Ticket

_TABLE = OutboxMessage.__table__
_INSERT = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)


@dataclass
class Queued:
    """A notification written with its transaction's next flush; `id` is known from then on."""

    id: int | None = None

# pg_advisory_xact_lock key serialising outbox claims across processes (any constant of our own).
CLAIM_LOCK = 0x6166746572646573


def _ready(now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """Due, and leased by nobody (or the lease ran out)."""
    return and_(OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))


def _pending_destinations() -> CTE:
    """The destinations with pending rows, one index seek each (a loose index scan: a DISTINCT would
    read every pending row)."""
    pending = OutboxMessage.status == "pending"
    queues = select(func.min(OutboxMessage.destination).label("destination")).where(pending).cte(
        "queues", recursive=True)
    after = aliased(OutboxMessage)
    following = (select(func.min(after.destination)).where(after.status == "pending",
                                                            after.destination > queues.c.destination)
                 .correlate(queues).scalar_subquery())
    return queues.union_all(select(following).where(queues.c.destination.is_not(None)))


def _heads() -> Select[tuple[int]]:
    # Each queue is read from its head only, through the (status, destination, id) index: the
    # dispatcher claims every 50 ms while a festival backlog of tens of thousands of cards waits
    # out the platforms' pacing, and reading all of it each time cost 6 ms a round at 25,000.
    # Built once (building it cost ten times running it); the values come as parameters.
    now, per_destination = bindparam("now"), bindparam("per_destination")
    queues = _pending_destinations()
    head = aliased(OutboxMessage)
    first_rows = (select(head.id).where(head.status == "pending", head.destination == queues.c.destination)
                  .order_by(head.id).limit(per_destination).correlate(queues).scalar_subquery())
    rows = (select(OutboxMessage.id, OutboxMessage.destination, case((_ready(now), 0), else_=1).label("held"))
            .join(queues, OutboxMessage.destination == queues.c.destination)
            .where(OutboxMessage.id.in_(first_rows),
                   queues.c.destination.not_in(bindparam("skip", expanding=True)))).subquery()
    queue = dict(partition_by=rows.c.destination, order_by=rows.c.id)
    ranked = select(rows.c.id, func.row_number().over(**queue).label("pos"),
                    func.sum(rows.c.held).over(**queue).label("held_so_far")).subquery()
    return (select(ranked.c.id).where(ranked.c.held_so_far == 0, ranked.c.pos <= per_destination)
            .order_by(ranked.c.id).limit(bindparam("limit")))


_HEADS = _heads()


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._queued: list[tuple[Queued, Ticket | None, dict[str, Any]]] = []

    def add(self, message: OutboxMessage) -> None:
        self.session.add(message)

    def queue(self, ticket: Ticket | None, **values: Any) -> Queued:
        """A new notification of `ticket` (it may not be inserted yet), written in order with the others of
        this transaction as one multi-row INSERT: a mapped object per notification cost a sixth of creating
        a ticket, and nothing reads them back before they are delivered."""
        handle = Queued()
        self._queued.append((handle, ticket, values))
        return handle

    @property
    def tickets_queued(self) -> Iterable[Ticket | None]:
        return (ticket for _, ticket, _ in self._queued)

    def write_queued(self) -> None:
        """Insert what was queued (the tickets it belongs to must have their ids)."""
        if not self._queued:
            return
        queued, self._queued = self._queued, []
        rows = [{"ticket_id": ticket.id if ticket is not None else None, **values} for _, ticket, values in queued]
        ids = self.session.execute(_INSERT, rows).scalars().all()
        for (handle, _, _), row_id in zip(queued, ids, strict=True):
            handle.id = row_id

    def forget_queued(self) -> None:
        self._queued.clear()

    def claim(self, now: datetime, lease_until: datetime, owner: str, *, skip: Collection[str] = (),
              per_destination: int = 20, limit: int = 500) -> list[tuple[int, str]]:
        """Lease the heads of the queues (see `heads`) in one statement; (id, destination) won, in id order."""
        if self.session.get_bind().dialect.name == "postgresql":
            # Claims by several processes take turns, so each sees the leases of the one before
            # and no destination's queue is split between two of them.
            self.session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
        ids = self.heads(now, skip=skip, per_destination=per_destination, limit=limit)
        return self.lease(ids, now, lease_until, owner) if ids else []

    def heads(self, now: datetime, *, skip: Collection[str] = (), per_destination: int = 20,
              limit: int = 500) -> list[int]:
        """The ids at the head of each destination's queue, oldest first.

        A destination's rows are taken in order, and only up to the first one that cannot go yet
        (not due, or leased by another dispatcher): what comes after it must wait for it. `skip`
        leaves out the destinations this dispatcher is sending to already.
        """
        params = {"now": now, "skip": list(skip), "per_destination": per_destination, "limit": limit}
        return list(self.session.scalars(_HEADS, params))

    def lease(self, ids: Collection[int], now: datetime, lease_until: datetime,
              owner: str) -> list[tuple[int, str]]:
        """Lease these rows where nobody else holds them (checked again on each row); (id, destination) won."""
        stmt = (update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending", _ready(now))
                .values(lease_until=lease_until, lease_owner=owner)
                .returning(OutboxMessage.id, OutboxMessage.destination))
        won = self.session.execute(stmt, execution_options={"synchronize_session": False}).all()
        return sorted((row_id, destination) for row_id, destination in won)

    def renew(self, row_id: int, owner: str, lease_until: datetime) -> OutboxMessage | None:
        """Extend our lease just before sending: the row, or None if it is no longer ours to send."""
        stmt = (update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", OutboxMessage.lease_owner == owner)
                .values(lease_until=lease_until)
                .returning(OutboxMessage))
        return self.session.scalars(stmt, execution_options={"synchronize_session": False}).first()

    def mark_sent(self, row_id: int, owner: str, now: datetime, message_id: str | None,
                  chat_id: str | None) -> tuple[bool, int | None] | None:
        """Settle a delivered row: (whether our lease still held, its ticket); None if the row is gone."""
        sent = dict(status="sent", sent_at=now, lease_until=None, lease_owner=None, result_message_id=message_id,
                    result_chat_id=chat_id, attempts=OutboxMessage.attempts + 1)
        for ours in (True, False):
            stmt = update(OutboxMessage).where(OutboxMessage.id == row_id)
            if ours:
                stmt = stmt.where(OutboxMessage.lease_owner == owner)
            row = self.session.execute(stmt.values(**sent).returning(OutboxMessage.ticket_id),
                                       execution_options={"synchronize_session": False}).first()
            if row is not None:
                return ours, row.ticket_id
        return None

    def get(self, row_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, row_id)

    def pending_before(self, destination: str, before_id: int) -> bool:
        """An older row of this destination is still undelivered (order guard)."""
        return self.session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.destination == destination,
                OutboxMessage.status == "pending",
                OutboxMessage.id < before_id,
            ).limit(1)
        ).first() is not None

    def newer_card_pending(self, row: OutboxMessage) -> bool:
        """A later refresh of the same card is queued: this one would be redrawn at once."""
        return self.session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.destination == row.destination,
                OutboxMessage.ticket_id == row.ticket_id,
                OutboxMessage.kind == "card",
                OutboxMessage.status == "pending",
                OutboxMessage.id > row.id,
            ).limit(1)
        ).first() is not None

    def card_pending(self, ticket_id: int, platform: str) -> bool:
        """A card for this ticket on this platform is still to be posted."""
        return self.session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.ticket_id == ticket_id, OutboxMessage.platform == platform,
                OutboxMessage.kind == "card", OutboxMessage.status == "pending",
            ).limit(1)
        ).first() is not None

    def release(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids:
            self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(lease_until=None, lease_owner=None)
            )

    def by_status(self, status: str) -> Sequence[OutboxMessage]:
        return self.session.execute(
            select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id)
        ).scalars().all()
