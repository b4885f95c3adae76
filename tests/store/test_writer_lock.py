"""SQLite: this process's writers queue on one lock, and every way a transaction ends hands it on.

A leaked lock would freeze the desk (every later command waits), so each test ends with another
thread writing, bounded by a join timeout far above what the write needs.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from bot.bootstrap import open_database
from handlers.commands import Actor, CreateTicket
from tests.support import make_runtime

GUARD_S = 20  # only reached if the lock leaked


def write_from_another_thread(engine) -> bool:
    # The connection just used stays checked out here, idle, so the writer gets a connection of its own
    # and must really take the lock.
    with engine.connect():
        return _write_in_thread(engine)


def _write_in_thread(engine) -> bool:
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO counters (name, value) VALUES ('probe', 1) "
                              "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"))
        done.set()

    worker = threading.Thread(target=write, daemon=True)
    worker.start()
    worker.join(GUARD_S)
    return done.is_set()


@pytest.mark.parametrize("ending", ["commit", "rollback", "exception", "read_only"])
def test_every_end_of_a_transaction_hands_the_lock_on(sqlite_url, ending):
    engine = open_database(sqlite_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM tickets"))
            if ending == "commit":
                conn.execute(text("INSERT INTO counters (name, value) VALUES ('mine', 1)"))
                conn.commit()
            elif ending == "rollback":
                conn.execute(text("INSERT INTO counters (name, value) VALUES ('mine', 1)"))
                conn.rollback()
            elif ending == "exception":
                with pytest.raises(Exception):
                    conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
        assert write_from_another_thread(engine)
    finally:
        engine.dispose()


def test_a_failed_command_does_not_hold_up_the_next(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    failed = rt.execute(CreateTicket(Actor("console", "xiaomei"), title=""))
    assert not failed.ok
    assert write_from_another_thread(rt.engine)
    assert rt.execute(CreateTicket(Actor("console", "xiaomei"), title="Cracked screen")).ok
    rt.engine.dispose()


def test_concurrent_writers_all_land(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    results = []

    def create(n: int) -> None:
        for i in range(10):
            results.append(rt.execute(CreateTicket(Actor("console", "xiaomei"), title=f"Case {n}-{i}")).ok)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(GUARD_S)
    assert results == [True] * 40
    with rt.engine.connect() as conn:
        numbers = conn.execute(text("SELECT number FROM tickets ORDER BY number")).scalars().all()
    assert numbers == list(range(1001, 1041))
    rt.engine.dispose()


def test_a_report_reads_beside_a_writer_without_waiting(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock)
    assert rt.execute(CreateTicket(Actor("console", "xiaomei"), title="Cracked screen")).ok
    with rt.desk.uow() as writer:
        writer.session.execute(text("UPDATE tickets SET title = 'Cracked screen, box dented'"))
        # Same thread, write lock held: a reader that queued for it would never get in.
        with rt.desk.uow.read_only() as report:
            titles = report.session.execute(text("SELECT title FROM tickets")).scalars().all()
        writer.commit()
    assert titles == ["Cracked screen"]  # the snapshot from before the writer's change
    rt.engine.dispose()
