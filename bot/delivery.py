"""What a platform sender receives and may raise; shared by the dispatcher and every sender."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handlers.replies import Text
from handlers.views import TicketView


@dataclass(frozen=True)
class Delivery:
    """One outbox row, resolved and ready to send."""

    row_id: int
    kind: str  # card | notice | post | dm | edit
    platform: str
    chat_id: str = ""
    user_id: str = ""
    text: Text | None = None
    ticket: TicketView | None = None
    # The card already posted in this chat (update it / reply under it), if any. For a DM: the
    # ticket's card on this platform (card_chat_id + card_message_id), so the DM can link to it.
    card_message_id: str | None = None
    card_chat_id: str | None = None
    topic_id: str | None = None
    # kind "edit": the message to rewrite (chat_id is its chat)
    target_message_id: str | None = None


@dataclass(frozen=True)
class Delivered:
    message_id: str | None = None
    chat_id: str | None = None
    topic_id: str | None = None
    # kind "card": the card was gone (deleted in the chat) and was posted anew; this message replaces it.
    replaced: bool = False


class RetryLater(Exception):
    """The platform asked us to slow down (HTTP 429): retry after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited, retry after {seconds:g}s")
        self.seconds = seconds


class TransientError(Exception):
    """A failure worth retrying with backoff (network, 5xx)."""


class PermanentError(Exception):
    """A failure retrying cannot fix (channel not found, bot removed): the row is parked."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class Sender(Protocol):
    platform: str
    # Minimum seconds between two messages to the same destination.
    min_interval: float

    async def deliver(self, item: Delivery) -> Delivered:
        """Send one item; raise RetryLater, TransientError or PermanentError on failure."""
