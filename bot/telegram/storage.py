"""The little the Telegram adapter keeps in the database itself: guided-form sessions, and where a
ticket's card sits (for mentioning someone there when a private message is impossible).

Synchronous, one short transaction per call; the adapter calls these with asyncio.to_thread.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from handlers.clock import Clock
from store.models import FormSession, OutboxMessage
from store.uow import UnitOfWork

PLATFORM = "telegram"
# A form nobody touched for this long is forgotten (the next plain reply is not taken as an answer).
FORM_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class CardLocation:
    chat_id: str
    card_message_id: str
    topic_id: str | None


class TelegramStore:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def load_form(self, chat_id: str, user_id: str) -> dict[str, Any] | None:
        """The user's open form in this chat, or None (an expired one is removed)."""
        with self.uow() as uow:
            row = uow.forms.get(PLATFORM, chat_id, user_id)
            if row is None:
                return None
            if row.updated_at < self.clock.now() - FORM_TTL:
                uow.forms.delete(row)
                uow.commit()
                return None
            return dict(row.data)

    def save_form(self, chat_id: str, user_id: str, state: dict[str, Any]) -> None:
        with self.uow() as uow:
            row = uow.forms.get(PLATFORM, chat_id, user_id)
            if row is None:
                row = FormSession(platform=PLATFORM, chat_id=chat_id, user_id=user_id)
                uow.forms.add(row)
            row.step = state["step"]
            row.data = dict(state)  # a new object, so the JSON column is written
            row.updated_at = self.clock.now()
            uow.commit()

    def delete_form(self, chat_id: str, user_id: str) -> None:
        with self.uow() as uow:
            row = uow.forms.get(PLATFORM, chat_id, user_id)
            if row is not None:
                uow.forms.delete(row)
                uow.commit()

    def card_location(self, number: int, prefer_chat: str = "") -> tuple[CardLocation | None, bool]:
        """Where the ticket's Telegram card is (its group's chat first), and whether a first card for
        `prefer_chat` is still waiting in the outbox (so it is worth waiting a moment for it)."""
        with self.uow() as uow:
            ticket = uow.tickets.by_number(number)
            if ticket is None:
                return None, False
            threads = [t for t in uow.threads.for_ticket(ticket.id) if t.platform == PLATFORM]
            threads.sort(key=lambda t: t.chat_id != prefer_chat)
            if threads and (threads[0].chat_id == prefer_chat or not prefer_chat):
                t = threads[0]
                return CardLocation(t.chat_id, t.card_message_id, t.topic_id), False
            pending = bool(prefer_chat) and uow.session.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "card",
                    OutboxMessage.destination == f"{PLATFORM}:{prefer_chat}", OutboxMessage.status == "pending",
                ).limit(1)
            ).first() is not None
            t = threads[0] if threads else None
            return (CardLocation(t.chat_id, t.card_message_id, t.topic_id) if t else None), pending
