"""Injected time: every module asks a Clock, so tests move time instead of sleeping."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, UTC
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""


class SystemClock:
    # The same time in every process, so the core may run commands in a process of its own.
    crosses_processes = True

    def now(self) -> datetime:
        """Wall-clock UTC now."""
        return datetime.now(UTC)


class ShiftedClock:
    """The wall clock moved by a fixed offset: real time running from another instant (benchmarks)."""

    crosses_processes = True

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs an aware datetime")
        self.offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FakeClock:
    """A clock that only moves when told to (tests, demo)."""

    # It moves only in this process: commands run on threads here, never in a core process.
    crosses_processes = False

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The frozen current instant."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by delta (or timedelta(**kwargs)); returns the new now."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to an instant (not before now)."""
        with self._lock:
            instant = instant.astimezone(UTC)
            if instant < self._now:
                raise ValueError("time does not run backwards")
            self._now = instant
