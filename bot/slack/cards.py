"""Read-only lookup: does a Slack thread belong to a ticket (other threads are not our business)."""
from __future__ import annotations

import asyncio

from handlers.desk import Desk

PLATFORM = "slack"


class Cards:
    """Answers from the store, run off the event loop."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def is_ticket_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether a thread hangs under one of our ticket messages (other threads are not our business)."""
        return await asyncio.to_thread(self._ticket_of, channel, thread_ts) is not None

    def _ticket_of(self, channel: str, thread_ts: str) -> int | None:
        # A snapshot read: it must not queue for the write lock behind a burst (it runs before an event's ack).
        with self.desk.uow.read_only() as uow:
            return uow.threads.ticket_for_message(PLATFORM, channel, thread_ts)
