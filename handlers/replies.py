"""What the core answers: texts as keys + raw params (renderers escape), and ticket views."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.views import TicketView


@dataclass(frozen=True)
class Text:
    """A user-facing sentence: a key into handlers.texts and its (unescaped) parameters."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


def text(key: str, **params: Any) -> Text:
    return Text(key, params)


@dataclass(frozen=True)
class Reply:
    """The immediate answer to a command, rendered by the adapter that received it."""

    texts: tuple[Text, ...] = ()
    ok: bool = True
    ephemeral: bool = True
    ticket: TicketView | None = None
    tickets: tuple[TicketView, ...] = ()
    duplicate: bool = False
    ignored: bool = False
    detail: bool = False

    @property
    def ticket_number(self) -> int | None:
        return self.ticket.number if self.ticket else None


class UsageError(Exception):
    """A command the core refuses: carries the polite, specific sentence to show."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.text = Text(key, params)
