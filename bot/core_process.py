"""Commands on a process of their own: the web process acknowledges, the core process keeps and runs them.

A Python process runs one thread at a time. With the platforms, the outbox and the scheduler in one process
and the commands in another, a festival burst uses two cores instead of one, and acknowledging requests no
longer takes the interpreter away from the command that is creating a ticket.

Requests still go through the inbox, kept by the core process (the one writer of commands) before the web
process acknowledges them. If the core process dies it is started again: it runs what it had kept (its
answers come back as "replayed") and the web process sends again what it had not kept yet. Nothing that was
acknowledged is lost, and nothing runs twice (the inbox item is taken in the command's own transaction).

Messages on the pipe — to the core: (seq, encoded command), or None to finish and exit. They are written
by a thread of their own: a core process that stops reading (frozen, swapped out) fills the pipe, and the
write that then blocks must not be the event loop's, which answers Slack and Telegram.
From the core: ("replaying", [inbox ids]), ("ready",), ("kept", seq, inbox id), ("refused", seq, reason),
("done", seq, reply), ("replayed", inbox id, reply), ("log", record).
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from logging.handlers import QueueHandler
from multiprocessing.connection import Connection
from typing import Any

from bot.core_runner import ROOM, CoreRunner, Door, threads_for, tune_interpreter
from handlers.bus import Desk
from handlers.clock import Clock
from handlers.command_codec import decode, encode
from handlers.commands import Command
from handlers.policy import DeskPolicy
from handlers.replies import Reply, text
from handlers.sla.policy import SlaSettings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0  # opening a big SQLite file takes a while on a slow disk
STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class CoreSetup:
    """What the core process needs, sent as its first message: plain data, so it loads neither the
    config parser nor the migrations nor the HTTP stack (a smaller second process)."""

    database_url: str
    policy: DeskPolicy
    sla: SlaSettings | None
    clock: Clock
    threads: int
    log_level: int


class CoreProcessFailed(RuntimeError):
    """The core process could not start, or stopped while starting."""


@dataclass
class _Pending:
    data: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    kept: asyncio.Future[int]
    result: asyncio.Future[Reply]
    inbox_id: int | None = None
    sent_to: int = 0  # the core process (generation) it was last written to


def _settle(future: asyncio.Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class CoreProcess(Door):
    """The web process's side: the same interface as CoreRunner (door, accept, submit, replay, stop)."""

    def __init__(self, database_url: str, desk: Desk, sla: SlaSettings | None, room: int = ROOM) -> None:
        super().__init__(room)
        self.desk = desk
        self._setup = CoreSetup(database_url, desk.policy, sla, desk.clock, threads_for(database_url), logging.INFO)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # the pending requests and the pipe's sending end
        self._pending: dict[int, _Pending] = {}
        self._by_inbox: dict[int, int] = {}
        self._proc: Any = None
        self._conn: Connection | None = None
        self._ready = threading.Event()
        self._replaying: list[int] | None = None
        self._stopping = False
        self._start_lock = threading.Lock()
        self._generation = 0  # counts core processes started: a request goes once to each
        self._outgoing: queue.SimpleQueue[int | None] = queue.SimpleQueue()  # seqs to write, None: finish
        self._writer = threading.Thread(target=self._write_forever, name="core-writer", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- starting ------------------------------------------------------------------------------------
    async def replay(self, before: datetime) -> asyncio.Future[list[tuple[int, Reply]]]:
        """Start the core process; it runs what an earlier process kept before it takes anything new (its
        answers go to the log)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._start)
        done: asyncio.Future[list[tuple[int, Reply]]] = loop.create_future()
        done.set_result([])
        return done

    def _start(self) -> None:
        with self._start_lock:
            if self._proc is not None or self._stopping:
                return
            if not self._writer.is_alive():
                self._writer.start()
            self._spawn()

    def _spawn(self) -> None:
        parent, child = multiprocessing.Pipe()
        self._ready.clear()
        self._replaying = None
        # A fresh interpreter running this module (not multiprocessing's spawn, which would also import
        # whatever script started this process).
        proc = subprocess.Popen([sys.executable, "-m", __name__, str(child.fileno())], pass_fds=[child.fileno()])
        child.close()
        setup = CoreSetup(**{**self._setup.__dict__, "log_level": logging.getLogger().getEffectiveLevel()})
        parent.send(setup)
        with self._lock:
            self._proc, self._conn = proc, parent
            self._generation += 1
        threading.Thread(target=self._read, args=(parent, proc), name="core-reader", daemon=True).start()
        if not self._ready.wait(START_TIMEOUT_S) or proc.poll() is not None:
            proc.kill()
            raise CoreProcessFailed("the core process did not start (see the log above)")
        self._resend()

    def _resend(self) -> None:
        """After a restart: what the last core process had finished but not answered is answered here, and
        what it had not kept yet is sent again."""
        replaying = set(self._replaying or ())
        with self._lock:
            for seq, p in list(self._pending.items()):
                if p.inbox_id is None:
                    self._outgoing.put(seq)
                elif p.inbox_id not in replaying:
                    # Taken from the inbox by a committed transaction whose answer died with the process.
                    self._finish(seq, Reply(texts=(text("duplicate"),), duplicate=True))

    # -- requests ------------------------------------------------------------------------------------
    async def accept(self, cmd: Command) -> asyncio.Future[Reply]:
        """Returns once the core process has kept the request (safe to acknowledge); await the result."""
        if self._proc is None:
            await asyncio.get_running_loop().run_in_executor(None, self._start)
        loop = asyncio.get_running_loop()
        pending = _Pending(encode(cmd), loop, loop.create_future(), loop.create_future())
        with self._lock:
            seq = next(self._seq)
            self._pending[seq] = pending
        self._outgoing.put(seq)
        await pending.kept
        return pending.result

    async def submit(self, cmd: Command) -> Reply:
        return await (await self.accept(cmd))

    def _write_forever(self) -> None:
        """The one writer of the pipe: each request not kept yet goes once to each core process."""
        while True:
            seq = self._outgoing.get()
            with self._lock:
                conn, generation = self._conn, self._generation
                pending = self._pending.get(seq) if seq is not None else None
                if seq is not None and (pending is None or pending.inbox_id is not None
                                        or pending.sent_to == generation):
                    continue
                if pending is not None:
                    pending.sent_to = generation
            try:
                if conn is not None:
                    conn.send(None if pending is None else (seq, pending.data))
            except (OSError, ValueError, TypeError):
                pass  # a dead (or just closed) pipe: the restart sends what was not kept again
            except Exception:
                log.exception("could not send request %s to the core process", seq)
            if seq is None:
                return

    # -- answers -------------------------------------------------------------------------------------
    def _read(self, conn: Connection, proc: Any) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            self._handle(message)
        conn.close()
        proc.wait()
        if not self._stopping:
            self._restart(proc)

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "log":
            record: logging.LogRecord = message[1]
            logging.getLogger(record.name).handle(record)
            return
        if kind == "replaying":
            self._replaying = message[1]
            return
        if kind == "ready":
            self._ready.set()
            return
        with self._lock:
            if kind == "kept":
                _, seq, inbox_id = message
                pending = self._pending.get(seq)
                if pending is not None:
                    pending.inbox_id = inbox_id
                    self._by_inbox[inbox_id] = seq
                    pending.loop.call_soon_threadsafe(_settle, pending.kept, inbox_id)
            elif kind == "refused":
                pending = self._pending.pop(message[1], None)
                if pending is not None:
                    pending.loop.call_soon_threadsafe(_settle, pending.kept, None, RuntimeError(message[2]))
            elif kind == "done":
                self._finish(message[1], message[2])
            elif kind == "replayed":
                seq = self._by_inbox.get(message[1])
                if seq is not None:
                    self._finish(seq, message[2])
        if kind in ("done", "replayed"):
            self.desk.on_commit()

    def _finish(self, seq: int, reply: Reply) -> None:
        pending = self._pending.pop(seq, None)
        if pending is None:
            return
        if pending.inbox_id is not None:
            self._by_inbox.pop(pending.inbox_id, None)
        pending.loop.call_soon_threadsafe(_settle, pending.result, reply)

    def _restart(self, proc: Any) -> None:
        was_ready = self._ready.is_set()
        log.error("the core process stopped (exit code %s)%s", proc.returncode,
                  "; starting it again" if was_ready else "")
        if was_ready:
            try:
                with self._start_lock:
                    if not self._stopping:
                        self._spawn()
                return
            except Exception:
                log.exception("the core process could not be started again; requests waiting for it fail")
        error = CoreProcessFailed("the core process is not running")
        with self._lock:
            for pending in self._pending.values():
                pending.loop.call_soon_threadsafe(_settle, pending.kept, None, error)
                pending.loop.call_soon_threadsafe(_settle, pending.result, None, error)
            self._pending.clear()
            self._by_inbox.clear()

    # -- stopping ------------------------------------------------------------------------------------
    def stop(self, drop_queued: bool = False) -> None:
        """Let the core process finish what it was given (or, `drop_queued`, stop it now: what it kept and
        had not run stays in the inbox for the next start)."""
        self._stopping = True
        proc = self._proc
        if proc is None:
            return
        if drop_queued:
            proc.kill()
        else:
            self._outgoing.put(None)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.warning("the core process did not finish within %.0f s; stopped", STOP_GRACE_S)
                proc.kill()
        proc.wait()


# -- the core process ---------------------------------------------------------------------------------
class _Pipe:
    """The core process's sending end, shared by the event loop and the threads that log."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message: Any) -> None:
        with self.lock:
            self.conn.send(message)

    def put_nowait(self, record: logging.LogRecord) -> None:  # QueueHandler's queue
        self.send(("log", record))


def serve(conn: Connection) -> None:
    """The core process: its setup comes first on the pipe."""
    setup: CoreSetup = conn.recv()
    pipe = _Pipe(conn)
    root = logging.getLogger()
    root.handlers[:] = [QueueHandler(pipe)]  # the web process's handlers (and their secret masking) write it
    root.setLevel(setup.log_level)
    from handlers.sla.engine import install
    from store.db import make_engine, make_session_factory
    from store.uow import UnitOfWorkFactory

    # The web process has upgraded the schema and registered the people before starting this one.
    engine = make_engine(setup.database_url)
    desk = Desk(uow=UnitOfWorkFactory(make_session_factory(engine)), clock=setup.clock, policy=setup.policy)
    if setup.sla is not None:
        install(desk, setup.sla)
    core = CoreRunner(desk, setup.threads)
    tune_interpreter()
    try:
        asyncio.run(_serve(conn, pipe, core))
    finally:
        core.stop()
        engine.dispose()


async def _serve(conn: Connection, pipe: _Pipe, core: CoreRunner) -> None:
    loop = asyncio.get_running_loop()
    now = core.desk.clock.now()
    left = await loop.run_in_executor(None, core.left, now)
    pipe.send(("replaying", [inbox_id for inbox_id, _ in left]))
    replayed = await core.replay(now, left)
    replayed.add_done_callback(lambda done: [pipe.send(("replayed", inbox_id, reply))
                                             for inbox_id, reply in done.result()])
    pipe.send(("ready",))
    finished = asyncio.Event()
    running: set[asyncio.Task[None]] = set()

    def take(message: Any) -> None:
        if message is None:
            finished.set()
            return
        task = loop.create_task(_run(pipe, core, *message))
        running.add(task)
        task.add_done_callback(running.discard)

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = None  # the web process is gone: finish what was kept, then exit
            loop.call_soon_threadsafe(take, message)
            if message is None:
                return

    threading.Thread(target=read, name="core-pipe", daemon=True).start()
    await finished.wait()
    while running:
        await asyncio.gather(*running, return_exceptions=True)
    await replayed


async def _run(pipe: _Pipe, core: CoreRunner, seq: int, data: dict[str, Any]) -> None:
    try:
        inbox_id, result = await core.keep(decode(data))
    except Exception as exc:
        pipe.send(("refused", seq, f"{type(exc).__name__}: {exc}"))
        return
    pipe.send(("kept", seq, inbox_id))
    try:
        reply = await result
    except Exception:
        log.exception("command %s could not run", seq)
        reply = Reply(texts=(text("err_internal"),), ok=False)
    pipe.send(("done", seq, reply))


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
