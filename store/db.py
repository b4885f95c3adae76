"""Engines: SQLite tuned for a chat bot (WAL, FKs, write lock up front) or any SQLAlchemy URL."""
from __future__ import annotations

import collections
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_S = 30
_HOLDS_WRITER = "afterdesk_holds_writer"
_READ_ONLY_KEY = "afterdesk_read_only"
# Execution options of an engine whose transactions only read (see UnitOfWorkFactory.read_only).
READ_ONLY = {_READ_ONLY_KEY: True}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is deferred; we issue BEGIN ourselves (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    # SQLite has one writer; threads that lose the race for it sleep in its busy handler in growing
    # steps (up to 100 ms) while the lock sits free. Queuing this process's writers on a Python lock
    # first hands the database over the moment the last transaction ends.
    writer = FairLock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_READ_ONLY_KEY):
            # WAL: a reader sees a snapshot and never waits for the writer (nor makes it wait).
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.connection.info
        if not info.get(_HOLDS_WRITER):
            # A thread that already holds it through another connection must not wait forever:
            # past the busy timeout it goes on, and SQLite's own lock decides as before.
            info[_HOLDS_WRITER] = writer.acquire(timeout=BUSY_TIMEOUT_S)
        # A deferred transaction that reads then writes fails with "database is locked" when
        # another writer got in between; taking the write lock up front makes writers queue.
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            _release(info)
            raise

    def _release(info: dict[str, Any]) -> None:
        if info.pop(_HOLDS_WRITER, False):
            writer.release()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # Back in the pool means committed or rolled back (sessions and `engine.begin()` return theirs).
        _release(record.info)


class FairLock:
    """A lock handed over in arrival order. With a plain Lock the thread that just released it (the busy
    command thread) takes it straight back, and a request waiting to be kept waits out many commands."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True
        with self._mutex:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return True  # handed over just as the wait ran out: it is ours
        return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # ownership passes straight to the next in line
            else:
                self._held = False


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (views are built after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
