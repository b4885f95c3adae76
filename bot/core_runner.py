"""Where chat commands run: a few dedicated threads for the synchronous core, and a bounded door in front.

SQLite has one writer at a time, so more than one command thread there only adds lock waits and GIL
hand-offs; PostgreSQL locks rows and takes several. The door (`door`) bounds the work a platform has
acknowledged but the database has not yet seen: when it is full, adapters hold the acknowledgement back
instead of promising more than the desk can write, which also bounds what a crash could lose.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from handlers.bus import Desk, execute
from handlers.commands import Command
from handlers.replies import Reply

# Enough to keep the command threads busy through a burst; small enough that a crash loses seconds of work.
ROOM = 64


class CoreRunner:
    def __init__(self, desk: Desk, threads: int, room: int = ROOM) -> None:
        self.desk = desk
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="core")
        self._room = room
        self._door: asyncio.Semaphore | None = None

    @property
    def door(self) -> asyncio.Semaphore:
        """One place per request from before its acknowledgement until its work is done (adapters hold it)."""
        # Created on first use, inside the event loop that serves the adapters.
        if self._door is None:
            self._door = asyncio.Semaphore(self._room)
        return self._door

    async def submit(self, cmd: Command) -> Reply:
        return await asyncio.get_running_loop().run_in_executor(self._pool, execute, self.desk, cmd)

    def stop(self, drop_queued: bool = False) -> None:
        """Let running commands finish; `drop_queued` abandons those not started (benchmarks only)."""
        self._pool.shutdown(wait=False, cancel_futures=drop_queued)


def threads_for(database_url: str) -> int:
    return 1 if database_url.startswith("sqlite") else 4
