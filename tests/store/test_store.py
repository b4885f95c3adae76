"""The store on SQLite and PostgreSQL: migrations, numbering, concurrent writers, dedup races."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from bot.bootstrap import open_database
from bot.config import ConfigError
from handlers.commands import Actor, CreateTicket
from handlers.desk import execute, person_for
from store.migrate import is_current
from store.models import Person
from tests.support import make_runtime


def test_schema_is_current_and_times_round_trip_as_utc(db_url, clock):
    rt = make_runtime(db_url, clock)
    assert is_current(rt.engine)
    rt.execute(CreateTicket(Actor("console", "xiaomei"), title="Dented box"))
    with rt.desk.uow() as uow:
        ticket = uow.tickets.by_number(1001)
        assert ticket.created_at == clock.now() and ticket.created_at.tzinfo is not None
    rt.engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_postgres_without_migration_says_to_upgrade(pg_url):
    with pytest.raises(ConfigError, match="afterdesk db upgrade"):
        open_database(pg_url)


def test_concurrent_writers_never_fail_and_numbers_stay_unique(db_url, clock):
    rt = make_runtime(db_url, clock)
    barrier = threading.Barrier(8)

    def agent(i: int) -> list[int]:
        barrier.wait()
        numbers = []
        for j in range(10):
            reply = rt.execute(CreateTicket(Actor("console", f"agent{i}", display_name=f"Agent {i}"),
                                            title=f"case {i}-{j}"))
            assert reply.ok, reply
            numbers.append(reply.ticket.number)
        return numbers

    with ThreadPoolExecutor(8) as pool:
        numbers = sorted(n for ns in pool.map(agent, range(8)) for n in ns)
    assert numbers == list(range(1001, 1081))
    rt.engine.dispose()


def test_a_delivery_raced_by_its_redelivery_is_recorded_once(db_url, clock):
    rt = make_runtime(db_url, clock)
    barrier = threading.Barrier(5)

    def deliver(_: int):
        barrier.wait()
        return execute(rt.desk, CreateTicket(Actor("console", "xiaomei"), title="Same event",
                                             dedup_keys=("slack:event:Ev1",)))

    with ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(deliver, range(5)))
    assert sum(r.ok and not r.duplicate for r in replies) == 1
    assert sum(r.duplicate for r in replies) == 4
    with rt.desk.uow() as uow:
        assert uow.tickets.count() == 1
        assert uow.session.execute(text("select count(*) from outbox")).scalar() == 1  # one card
    rt.engine.dispose()


def test_config_people_are_synced_idempotently(db_url, clock):
    make_runtime(db_url, clock).engine.dispose()
    rt = make_runtime(db_url, clock)
    with rt.desk.uow() as uow:
        people = uow.session.query(Person).all()
        lao = uow.people.by_key("lao_wang")
        assert len(people) == 4
        assert {i.platform for i in lao.identities} == {"console", "slack", "telegram"}
        assert uow.people.by_username("telegram", "LAOWANG_WH").key == "lao_wang"
    rt.engine.dispose()


def test_two_people_claiming_at_once_only_one_wins(db_url, clock):
    """On PostgreSQL the ticket row is locked for the command; on SQLite writers queue anyway."""
    from handlers.grammar import parse

    first = make_runtime(db_url, clock)
    second = make_runtime(db_url, clock)  # a second bot process on the same database
    for i in range(5):
        first.execute(CreateTicket(Actor("console", "xiaomei"), title=f"Parcel lost {i}"))
    for i in range(5):
        barrier = threading.Barrier(2)

        def claim(args, barrier=barrier, number=1001 + i):
            rt, who = args
            barrier.wait()
            return rt.execute(parse(f"claim {number}", Actor("console", who)))

        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(claim, [(first, "a_jie"), (second, "lao_wang")]))
        assert sorted(r.ok for r in replies) == [False, True]
        loser = next(r for r in replies if not r.ok)
        assert loser.texts[0].key == "err_claimed_by"
        with first.desk.uow() as uow:
            assert len([e for e in uow.tickets.by_number(1001 + i).events if e.action == "assigned"]) == 1
    first.engine.dispose()
    second.engine.dispose()


def test_a_person_folded_into_another_is_found_as_that_one_in_the_same_transaction(db_url, clock):
    # People found once in a transaction are taken from the session after that; folding one into another
    # (people sync) must not leave the old answer behind.
    rt = make_runtime(db_url, clock)
    with rt.desk.uow() as uow:
        newcomer = person_for(uow, Actor("slack", "UNEWCOMER", "T0001"))
        assert uow.people.by_identity("slack", "T0001", "UNEWCOMER").id == newcomer.id
        lao = uow.people.by_key("lao_wang")
        assert uow.people.by_key("lao_wang") is lao
        uow.people.merge(newcomer.id, lao.id)
        assert uow.people.by_identity("slack", "T0001", "UNEWCOMER").key == "lao_wang"
    rt.engine.dispose()
