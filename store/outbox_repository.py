"""The outbox's queries: what is due, who holds a lease, what must wait for what."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from store.models import OutboxMessage


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, message: OutboxMessage) -> None:
        self.session.add(message)

    def due(self, now: datetime, limit: int = 200) -> Sequence[OutboxMessage]:
        """Pending rows whose time has come and whose lease (if any) expired, oldest first."""
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return self.session.execute(stmt).scalars().all()

    def claim(self, ids: Iterable[int], now: datetime, lease_until: datetime, owner: str) -> list[int]:
        """Take a lease on rows nobody else holds; returns the ids this caller won."""
        won: list[int] = []
        for row_id in ids:
            result = self.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.status == "pending",
                    or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                )
                .values(lease_until=lease_until, lease_owner=owner)
            )
            if result.rowcount:
                won.append(row_id)
        return won

    def renew(self, row_id: int, owner: str, lease_until: datetime) -> bool:
        """Extend our lease just before sending; False if the row is no longer ours to send."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", OutboxMessage.lease_owner == owner)
            .values(lease_until=lease_until)
        )
        return bool(result.rowcount)

    def get(self, row_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, row_id)

    def pending_before(self, destination: str, before_id: int) -> int:
        """How many older rows of this destination are still undelivered (order guard)."""
        return self.session.execute(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.destination == destination,
                OutboxMessage.status == "pending",
                OutboxMessage.id < before_id,
            )
        ).scalar_one()

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
