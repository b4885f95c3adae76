"""SLA commands: acknowledging a breach (the chat adapters' Acknowledge button sends this) and follow-ups."""
from __future__ import annotations

from dataclasses import dataclass

from handlers.commands import Command


@dataclass(frozen=True)
class Acknowledge(Command):
    """`/ticket ack N`: someone takes the breach of ticket N; its re-escalations stop."""

    number: int = 0


@dataclass(frozen=True)
class Remind(Command):
    """`/ticket remind N <when> [text]`: a follow-up for the person who asks.

    `when` is what they typed ("7d", "tomorrow 10:00", "2026-12-01 09:00"), already checked by the
    grammar; it is turned into an instant in the asker's time zone when the command runs.
    """

    number: int = 0
    when: str = ""
    note: str = ""


@dataclass(frozen=True)
class CancelFollowUps(Command):
    """`/ticket remind N off`: the asker's pending follow-ups on ticket N are dropped."""

    number: int = 0


@dataclass(frozen=True)
class ListFollowUps(Command):
    """`/ticket reminders [N]`: the asker's pending follow-ups, on ticket N or on every ticket."""

    number: int = 0  # 0: every ticket
