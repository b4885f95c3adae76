"""What the Telegram adapter reads and keeps in the database itself: guided-form sessions, and the
read-only look-ups that tell a ticket's conversation from group chatter before anything is recorded.

Synchronous, one short transaction per call; the adapter calls these with asyncio.to_thread.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from handlers.clock import Clock
from store.models import FormSession
from store.uow import UnitOfWork

PLATFORM = "telegram"
# A form nobody touched for this long is forgotten (the next plain reply is not taken as an answer).
FORM_TTL = timedelta(hours=24)


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

    def is_ticket_thread(self, chat_id: str, thread_id: str) -> bool:
        """Whether a replied-to message or a forum topic is one of a ticket's (the core's own look-up)."""
        with self.uow() as uow:
            threads = uow.threads
            return (threads.ticket_for_message(PLATFORM, chat_id, thread_id)
                    or threads.ticket_for_topic(PLATFORM, chat_id, thread_id)) is not None

    def is_comment(self, chat_id: str, message_id: str) -> bool:
        """Whether a message was recorded as a ticket's comment (so an edit of it matters)."""
        with self.uow() as uow:
            return uow.tickets.comment_by_source(PLATFORM, chat_id, message_id) is not None
