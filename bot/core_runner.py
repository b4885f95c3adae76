"""Where chat commands run: a request is kept in the inbox, then run by the synchronous core on its own threads.

Keeping comes first and is quick (one small INSERT), so a platform can be told "got it" at once even while
the core works through a festival-morning burst; the command's own transaction deletes the kept copy, and
whatever a crash leaves in the inbox runs at the next start (`replay`). Nothing acknowledged is lost.

SQLite has one writer at a time, so more than one command thread there only adds lock waits and GIL
hand-offs; PostgreSQL locks rows and takes several. Each command thread runs what has queued up meanwhile
in one transaction (`execute_batch`, see BATCH): in a burst BEGIN, COMMIT and the hand-over of the write
lock are paid once per batch, not once per command. The door bounds the requests kept but not yet
answered: when it is full, adapters hold the acknowledgement back (backpressure) instead of queuing
without end.
"""
from __future__ import annotations

import asyncio
import functools
import gc
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from handlers.bus import Desk, execute_batch
from handlers.command_codec import decode, encode
from handlers.desk import forget_kept
from handlers.commands import Command
from handlers.replies import Reply

log = logging.getLogger(__name__)

# Requests kept and waiting for the core: a 30 s burst acknowledged at several times the pace tickets are
# created, at ~8 KB each (what answering needs, not Bolt's request) — then acknowledgements wait for room.
ROOM = 20_000
KEEP_BATCH = 500
# Commands run in one transaction at most (count and time). One process, 5 s bursts: 8 -> 415, 16 -> 478,
# 32 -> 521, 64 -> 544 tickets/s (one per transaction: ~240). The time cap matters under load: a batch holds
# SQLite's write lock, and keeping new requests (so acknowledging them) waits for it. With the SLA sweep and
# digest looping over 1M tickets, capping batches at 50 ms took ack p50 / p99 from 178 / 277 to 102 / 228 ms
# at the same rate.
BATCH = 32
BATCH_BUDGET_S: float | None = 0.05
RunBatch = Callable[[Desk, Sequence[tuple[Command, "int | None"]]], list[Reply]]


class _Work:
    """A kept command waiting for a command thread, and where its answer goes."""

    __slots__ = ("cmd", "inbox_id", "result", "loop")

    def __init__(self, cmd: Command, inbox_id: int | None, loop: asyncio.AbstractEventLoop) -> None:
        self.cmd, self.inbox_id, self.loop = cmd, inbox_id, loop
        self.result: asyncio.Future[Reply] = loop.create_future()


def _next_batch(waiting: queue.SimpleQueue[Any], limit: int) -> list[Any] | None:
    """Wait for one item, then take what else is already waiting, up to `limit`; None once told to stop
    (the stop stays queued for the queue's other readers)."""
    first = waiting.get()
    if first is None:
        waiting.put(None)
        return None
    batch = [first]
    while len(batch) < limit:
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            break
        if item is None:
            waiting.put(None)
            break
        batch.append(item)
    return batch


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class Door:
    """One place per request from before its acknowledgement until its work is done (adapters hold it)."""

    def __init__(self, room: int = ROOM) -> None:
        self._room = room
        self._door: asyncio.Semaphore | None = None

    @property
    def door(self) -> asyncio.Semaphore:
        # Created on first use, inside the event loop that serves the adapters.
        if self._door is None:
            self._door = asyncio.Semaphore(self._room)
        return self._door


class CoreRunner(Door):
    def __init__(self, desk: Desk, threads: int, room: int = ROOM) -> None:
        super().__init__(room)
        self.desk = desk
        # What runs kept commands (the benchmarks swap in one that costs nothing, to measure the rest).
        self.run_batch: RunBatch = functools.partial(execute_batch, budget_s=BATCH_BUDGET_S)
        self._threads = threads
        # Batches only with one command thread: on PostgreSQL several threads' batches would take the ticket
        # counter and ticket rows in different orders and deadlock (each then waits out deadlock_timeout).
        self._batch = BATCH if threads == 1 else 1
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._dropping = False
        # Its own thread, so keeping a request never waits behind the commands queued for the core.
        self._to_keep: queue.SimpleQueue[tuple[Command, asyncio.Future[int], asyncio.AbstractEventLoop] | None] = (
            queue.SimpleQueue())
        self._keeper: threading.Thread | None = None

    async def accept(self, cmd: Command) -> asyncio.Future[Reply]:
        """Keep the request (durably), then queue it: returns when it is safe to acknowledge; await the
        result for the reply."""
        return (await self.keep(cmd))[1]

    async def keep(self, cmd: Command) -> tuple[int, asyncio.Future[Reply]]:
        """accept(), also telling the inbox item the request was kept as."""
        loop = asyncio.get_running_loop()
        kept: asyncio.Future[int] = loop.create_future()
        self._to_keep.put((cmd, kept, loop))
        self._start_keeper()
        inbox_id = await kept
        return inbox_id, self._queue(cmd, inbox_id, loop)

    def _queue(self, cmd: Command, inbox_id: int | None, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Reply]:
        work = _Work(cmd, inbox_id, loop)
        self._work.put(work)
        if not self._workers:
            self._workers = [threading.Thread(target=self._work_forever, name=f"core_{n}", daemon=True)
                             for n in range(self._threads)]
            for worker in self._workers:
                worker.start()
        return work.result

    def _work_forever(self) -> None:
        while (batch := _next_batch(self._work, self._batch)) is not None:
            if self._dropping:
                for work in batch:
                    work.loop.call_soon_threadsafe(work.result.cancel)
                continue
            self._run(batch)

    def _run(self, batch: list[_Work]) -> None:
        while batch and not self._dropping:
            try:
                replies = self.run_batch(self.desk, [(work.cmd, work.inbox_id) for work in batch])
            except Exception as exc:
                log.exception("%d command(s) could not run", len(batch))
                for work in batch:
                    work.loop.call_soon_threadsafe(_fail, work.result, exc)
                return
            assert replies, "a batch runs at least its first command"
            for work, reply in zip(batch, replies):
                work.loop.call_soon_threadsafe(_resolve, work.result, reply)
            batch = batch[len(replies):]
        for work in batch:  # dropped at stop: they stay in the inbox for the next start
            work.loop.call_soon_threadsafe(work.result.cancel)

    async def submit(self, cmd: Command) -> Reply:
        return await (await self.accept(cmd))

    def _start_keeper(self) -> None:
        if self._keeper is None:
            self._keeper = threading.Thread(target=self._keep_forever, name="inbox", daemon=True)
            self._keeper.start()

    def _keep_forever(self) -> None:
        # Group commit: everything that arrived while the last batch was written goes in one transaction,
        # so a burst costs a few write-lock hand-overs instead of one per request.
        while (batch := _next_batch(self._to_keep, KEEP_BATCH)) is not None:
            try:
                ids = self._keep(cmd for cmd, _, _ in batch)
            except Exception as exc:
                log.exception("could not keep %d request(s)", len(batch))
                for _, kept, loop in batch:
                    loop.call_soon_threadsafe(_fail, kept, exc)
                continue
            for (_, kept, loop), inbox_id in zip(batch, ids, strict=True):
                loop.call_soon_threadsafe(_resolve, kept, inbox_id)

    def _keep(self, cmds: Iterable[Command]) -> list[int]:
        with self.desk.uow() as uow:
            now = self.desk.clock.now()
            ids = [uow.inbox.keep(encode(cmd), now) for cmd in cmds]
            uow.commit()
        return ids

    async def replay(self, before: datetime, left: list[tuple[int, dict]] | None = None
                     ) -> asyncio.Future[list[tuple[int, Reply]]]:
        """Queue what an earlier process kept but did not finish (`left`, if already read), oldest first and
        ahead of new requests; the future gives each inbox item's answer (the person asked before the restart)."""
        loop = asyncio.get_running_loop()
        if left is None:
            left = await asyncio.to_thread(self.left, before)
        runs = []
        for inbox_id, data in left:
            try:
                cmd = decode(data)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("inbox item %s cannot be read (%s); dropped", inbox_id, exc)
                await asyncio.to_thread(forget_kept, self.desk, inbox_id)
                continue
            runs.append(self._numbered(inbox_id, self._queue(cmd, inbox_id, loop)))
        if runs:
            log.warning("running %d request(s) acknowledged before the last stop", len(runs))
        return asyncio.gather(*runs)

    @staticmethod
    async def _numbered(inbox_id: int, run: asyncio.Future[Reply]) -> tuple[int, Reply]:
        return inbox_id, await run

    def left(self, before: datetime) -> list[tuple[int, dict]]:
        """What is kept in the inbox from before `before`, oldest first."""
        with self.desk.uow.read_only() as uow:
            return list(uow.inbox.left_until(before, limit=None))

    def stop(self, drop_queued: bool = False) -> None:
        """Let running commands finish; `drop_queued` abandons those not started (they stay in the inbox)."""
        self._to_keep.put(None)
        self._dropping = self._dropping or drop_queued
        self._work.put(None)


# The core thread gives up the GIL on every SQLite call; with the event loop busy acknowledging a
# burst it then waited out the default 5 ms switch interval each time (~50 ms a command, 60-90
# tickets/s while requests poured in).
SWITCH_INTERVAL_S = 0.0005


def tune_interpreter() -> None:
    """Once started: collect cycles less eagerly, and hand the GIL over sooner (see SWITCH_INTERVAL_S).
    With thousands of requests waiting in a burst, CPython's full collections walked every one of them,
    pausing all threads for up to 0.6 s (the worst acknowledgements); what start-up built is frozen out
    of the walk for good."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def threads_for(database_url: str) -> int:
    return 1 if database_url.startswith("sqlite") else 4
