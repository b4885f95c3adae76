"""Telegram's flood limits, kept before we hit them: about 1 message a second per chat, 20 a minute per
group, 30 a second overall.

The dispatcher already spaces the messages of one outbox destination (`min_interval`); the per-chat
window here also covers what reaches a chat by other ways (answers to commands, a DM turned into a
mention in the group). Sliding windows, counted when a request *starts*: counting it when it finishes
would add every request's latency to every interval (20/min becomes 20 per minute-and-a-bit). Telegram
counts a request when it arrives, which is a little later than we start it, and not always equally
later: each window is held `MARGIN` longer than its period, so one request travelling faster than an
earlier one cannot land inside the earlier one's window.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from telegram.error import RetryAfter

# Real seconds (not scaled by `time_scale`): how much sooner one request may reach Telegram after
# leaving here than another (event-loop turns, a busy GIL, the HTTP client's own work).
MARGIN = 0.02


class Window:
    """At most `rate` requests started in any `period` (+ MARGIN) seconds; `even` also spaces them
    `period / rate` apart."""

    def __init__(self, rate: int, period: float, even: bool = False) -> None:
        self.rate = rate
        self.period = period + MARGIN
        self.spacing = self.period / rate if even else 0.0
        self._stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until a request may start here; 0 when it may start now."""
        stamps = self._stamps
        while stamps and stamps[0] <= now - self.period:
            stamps.popleft()
        if not stamps:
            return 0.0
        wait = stamps[-1] + self.spacing - now
        if len(stamps) >= self.rate:
            wait = max(wait, stamps[0] + self.period - now)
        return max(wait, 0.0)

    def stamp(self, now: float) -> None:
        self._stamps.append(now)

    def unstamp(self, now: float) -> None:
        try:
            self._stamps.remove(now)
        except ValueError:  # already expired
            pass

    @property
    def idle(self) -> bool:
        self.wait(time.monotonic())
        return not self._stamps


async def _until_free(windows: Iterable[Window]) -> None:
    while True:
        wait = max((w.wait(time.monotonic()) for w in windows), default=0.0)
        if wait <= 0:
            return
        await asyncio.sleep(wait)


class Pacer:
    """Per-chat, per-group and global windows; `time_scale` shrinks the periods (tests run Telegram's
    clock faster)."""

    def __init__(self, group_per_minute: int, global_per_second: int, chat_interval: float = 0.0,
                 time_scale: float = 1.0) -> None:
        self.group_per_minute = group_per_minute
        self.chat_interval = chat_interval
        self.time_scale = time_scale
        # Evenly spaced: requests started together queue up on their way out (event loop, HTTP client)
        # and arrive unevenly late, more than MARGIN apart from the same requests spread out.
        self._global = Window(global_per_second, 1.0 * time_scale, even=True)
        self._groups: dict[str, Window] = {}
        self._chats: dict[str, Window] = {}
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    @staticmethod
    def _window(windows: dict[str, Window], chat_id: str, rate: int, period: float) -> Window:
        if len(windows) > 1024:  # forget idle chats so the map stays small
            for key in [k for k, w in windows.items() if w.idle]:
                del windows[key]
        window = windows.get(chat_id)
        if window is None:
            window = windows[chat_id] = Window(rate, period)
        return window

    def _gate(self) -> asyncio.Lock:
        # Senders queue here in turn for the global window: only the first watches the clock,
        # instead of every waiter waking each time a slot frees. (A lock belongs to one event loop.)
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            self._gates = {k: v for k, v in self._gates.items() if not k.is_closed()}
            gate = self._gates[loop] = asyncio.Lock()
        return gate

    @asynccontextmanager
    async def slot(self, chat_id: str | int) -> AsyncIterator[None]:
        """Wait until a request to `chat_id` (groups have negative ids) may start, and count it."""
        chat = str(chat_id)
        own: list[Window] = []
        if self.chat_interval > 0:
            own.append(self._window(self._chats, chat, 1, self.chat_interval))
        if chat.startswith("-") or chat.startswith("@"):
            own.append(self._window(self._groups, chat, self.group_per_minute, 60.0 * self.time_scale))
        while True:
            # The chat's own windows first: a sender held back by its group does not block the queue.
            await _until_free(own)
            async with self._gate():
                await _until_free((self._global,))
                now = time.monotonic()
                # Someone else may have written to this chat meanwhile (an answer to a command).
                if all(w.wait(now) <= 0 for w in own):
                    windows = (*own, self._global)
                    for window in windows:
                        window.stamp(now)
                    break
        try:
            yield
        except RetryAfter:
            # Refused, so not counted: the retry must not wait a whole group minute for this slot.
            for window in windows:
                window.unstamp(now)
            raise
