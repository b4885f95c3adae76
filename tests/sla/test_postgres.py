"""Several bot processes on one PostgreSQL database: due tickets are claimed with FOR UPDATE SKIP LOCKED,
and the UNIQUE keys make every reminder fire exactly once."""
from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import text

from handlers.clock import FakeClock
from scheduler.jobs import CatchUpReport, SweepReport, catch_up, sweep
from store.db import make_engine
from store.migrate import upgrade
from store.models import OutboxMessage
from store.sla_models import SlaReminder
from store.sla_repository import SlaRepository
from tests.sla.conftest import Shop, sla_runtime

TICKETS = 16


def fresh_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        # A throwaway database: durability is not what is tested, commit latency only slows the test.
        conn.execute(text(f'ALTER DATABASE "{engine.url.database}" SET synchronous_commit TO off'))
    upgrade(engine)
    engine.dispose()


def sweep_together(*desks, job=sweep) -> list[SweepReport]:  # type: ignore[no-untyped-def]
    """Each desk runs the job (a sweep) in its own thread, all starting at the same moment."""
    start = threading.Barrier(len(desks))
    reports: list[SweepReport | BaseException] = [None] * len(desks)  # type: ignore[list-item]

    def work(i: int) -> None:
        start.wait()
        try:
            reports[i] = job(desks[i])
        except BaseException as exc:  # surfaced below
            reports[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(desks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for r in reports:
        if isinstance(r, BaseException):
            raise r
    return reports  # type: ignore[return-value]


def test_two_schedulers_sweeping_at_once_send_every_reminder_exactly_once(pg_url: str, clock: FakeClock):
    fresh_schema(pg_url)
    one = sla_runtime(pg_url, clock)
    two = sla_runtime(pg_url, clock)
    try:
        shop = Shop(one, clock)
        for i in range(TICKETS):
            shop.run("xiaomei", f"Case {i} category:hardware")  # all assigned to Lao Wang
        for minutes, kind in ((45, "first_response.warn"), (15, "first_response.breach")):
            clock.advance(minutes=minutes)
            a, b = sweep_together(one.desk, two.desk)
            assert a.errors == b.errors == 0
            fired = a.fired + b.fired
            assert sorted(n for n, _, _ in fired) == list(range(1001, 1001 + TICKETS))  # each ticket once
            assert {k for _, k, _ in fired} == {kind}
            assert a.tickets + b.tickets == TICKETS
            assert sweep_together(one.desk, two.desk)[0].fired == []
        with one.desk.uow() as uow:
            reminders = Counter((r.ticket_id, r.kind) for r in uow.session.query(SlaReminder))
            dms = Counter((r.payload["text"]["key"]) for r in uow.session.query(OutboxMessage)
                          .filter(OutboxMessage.kind.in_(("dm", "post"))))
        assert len(reminders) == 2 * TICKETS and set(reminders.values()) == {1}
        assert dms["sla_warn_dm"] == TICKETS  # to Lao Wang, once per ticket
        assert dms["sla_breach_channel"] == TICKETS and dms["sla_breach_dm"] == TICKETS  # channel + manager
    finally:
        one.engine.dispose()
        two.engine.dispose()


def test_two_schedulers_starting_at_once_catch_up_each_ticket_once(pg_url: str, clock: FakeClock):
    fresh_schema(pg_url)
    plain = sla_runtime(pg_url, clock, sla={})  # tickets opened before [sla] was on
    try:
        shop = Shop(plain, clock)
        for i in range(TICKETS):
            shop.run("xiaomei", f"Case {i} category:hardware")
            shop.run("lao_wang", f"status {1001 + i} waiting Asked the customer")
    finally:
        plain.engine.dispose()
    one, two = sla_runtime(pg_url, clock), sla_runtime(pg_url, clock)
    try:
        reports: list[CatchUpReport] = sweep_together(one.desk, two.desk, job=lambda d: catch_up(d, batch=3))
        assert sum(r.errors for r in reports) == 0
        assert sum(r.updated for r in reports) == TICKETS  # the second to lock a batch finds it done
        with one.desk.uow() as uow:
            paused = Counter(t for (t,) in uow.session.execute(
                text("SELECT ticket_id FROM sla_pauses WHERE reason = 'waiting' AND ended_at IS NULL")))
        assert len(paused) == TICKETS and set(paused.values()) == {1}
        assert catch_up(one.desk).updated == 0
    finally:
        one.engine.dispose()
        two.engine.dispose()


def test_a_duplicate_alert_is_refused_by_the_unique_key(db_url: str, clock: FakeClock):
    rt = sla_runtime(db_url, clock)
    try:
        Shop(rt, clock).run("xiaomei", "PC blue screens category:hardware")
        def row() -> SlaReminder:
            return SlaReminder(ticket_id=1, kind="first_response.warn", clock="first_response", deadline=clock.now(),
                               clock_due=clock.now(), fired_at=clock.now(), late=False, message_ids=[],
                               cleared_reason="")
        with rt.desk.uow() as uow:
            repo = SlaRepository(uow.session)
            assert repo.add_once(row()) is True
            assert repo.add_once(row()) is False  # the savepoint rolled back; the transaction goes on
            uow.commit()
        with rt.desk.uow() as uow:
            assert uow.session.query(SlaReminder).count() == 1
    finally:
        rt.engine.dispose()
