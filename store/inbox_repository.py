"""The inbox's queries: keep a request, take it when its command runs, find what a crash left behind."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from store.models import InboxItem


# On the table, not the mapped class: nothing loaded in the session mirrors the inbox, and the ORM's bulk
# delete bookkeeping cost more than the DELETE itself.
_ITEMS = InboxItem.__table__
_TAKE = delete(_ITEMS).where(_ITEMS.c.id == bindparam("item_id"))
_KEEP = insert(_ITEMS).returning(_ITEMS.c.id)


class InboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def keep(self, command: dict[str, Any], now: datetime) -> int:
        return self.session.execute(_KEEP, {"received_at": now, "command": command}).scalar_one()

    def take(self, item_id: int) -> bool:
        """Remove the item in the running transaction; False if another run already took it (it committed
        first, or holds the row until it does)."""
        return bool(self.session.execute(_TAKE, {"item_id": item_id}).rowcount)

    def left_until(self, instant: datetime, limit: int | None = None) -> Sequence[tuple[int, dict[str, Any]]]:
        rows = self.session.execute(
            select(InboxItem.id, InboxItem.command).where(InboxItem.received_at <= instant)
            .order_by(InboxItem.id).limit(limit)
        ).all()
        return [(row.id, row.command) for row in rows]
