"""Telegram's flood limits, kept before we hit them: about 1 message a second per chat, 20 a minute per
group, 30 a second overall.

The dispatcher already spaces the messages of one outbox destination (`min_interval`); the per-chat
window here also covers what reaches a chat by other ways (answers to commands, a DM turned into a
mention in the group). Sliding windows, counted when a request *finishes* — later than Telegram sees
it — so a burst never exceeds a window even when requests overlap.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Window:
    """At most `rate` events in any `period` seconds."""

    def __init__(self, rate: int, period: float) -> None:
        self.rate = rate
        self.period = period
        self._stamps: deque[list[float]] = deque()

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0][0] <= now - self.period:
            self._stamps.popleft()

    async def acquire(self) -> list[float]:
        """Wait for room; returns the slot's stamp, to be moved to when the request finished."""
        while True:
            now = time.monotonic()
            self._prune(now)
            if len(self._stamps) < self.rate:
                stamp = [now]
                self._stamps.append(stamp)
                return stamp
            await asyncio.sleep(max(self._stamps[0][0] + self.period - now, 0.001))

    @property
    def idle(self) -> bool:
        self._prune(time.monotonic())
        return not self._stamps


class Pacer:
    """Per-group and global windows; `time_scale` shrinks both periods (tests run Telegram's clock faster)."""

    def __init__(self, group_per_minute: int, global_per_second: int, chat_interval: float = 0.0,
                 time_scale: float = 1.0) -> None:
        self.group_per_minute = group_per_minute
        self.chat_interval = chat_interval
        self.time_scale = time_scale
        self._global = Window(global_per_second, 1.0 * time_scale)
        self._groups: dict[str, Window] = {}
        self._chats: dict[str, Window] = {}

    @staticmethod
    def _window(windows: dict[str, Window], chat_id: str, rate: int, period: float) -> Window:
        if len(windows) > 1024:  # forget idle chats so the map stays small
            for key in [k for k, w in windows.items() if w.idle]:
                del windows[key]
        window = windows.get(chat_id)
        if window is None:
            window = windows[chat_id] = Window(rate, period)
        return window

    @asynccontextmanager
    async def slot(self, chat_id: str | int) -> AsyncIterator[None]:
        """Hold a send slot for one request to `chat_id` (groups have negative ids)."""
        chat = str(chat_id)
        stamps = []
        if self.chat_interval > 0:
            stamps.append(await self._window(self._chats, chat, 1, self.chat_interval).acquire())
        if chat.startswith("-") or chat.startswith("@"):
            group = self._window(self._groups, chat, self.group_per_minute, 60.0 * self.time_scale)
            stamps.append(await group.acquire())
        stamps.append(await self._global.acquire())
        try:
            yield
        finally:
            done = time.monotonic()
            for stamp in stamps:
                stamp[0] = done
