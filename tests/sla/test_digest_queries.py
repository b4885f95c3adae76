"""The digest's figures as SQL: they match the plain-Python reference (bench.digest, the benchmark's baseline)
on random tickets, count everything while listing ten, and read the partial indexes, not the open tickets."""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, UTC
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from bench.digest import ClockRow, attainment
from handlers.sla.digest import running_clock
from store.db import make_session_factory
from store.migrate import open_database
from store.models import Person, Ticket
from store.sla_repository import SlaRepository

T = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)  # a local midnight (Asia/Shanghai)
H = timedelta(hours=1)
DAY, WEEK, NOW, TOMORROW = (T, T + 24 * H), (T - 6 * 24 * H, T + 24 * H), T + 26 * H, T + 48 * H
OPEN = ("new", "open", "waiting")
GROUPS = ("service", "warehouse", "tech")


@pytest.fixture
def store(db_url: str) -> Iterator[tuple[Engine, Callable[[], Session]]]:
    engine = open_database(db_url)  # SQLite is migrated on open; the PostgreSQL fixture migrated it
    yield engine, make_session_factory(engine)
    engine.dispose()


def add_tickets(session: Session, rows: list[dict[str, Any]]) -> None:
    people = [Person(key=key, display_name=key.title()) for key in ("reporter", "lao_wang", "a_jie")]
    session.add_all(people)
    session.flush()
    for number, cols in enumerate(rows, start=1001):
        created = cols.pop("created_at", T - 24 * H)
        assignee = cols.pop("assignee", None)
        session.add(Ticket(number=number, title=f"Case {number}", reporter_id=people[0].id, created_at=created,
                           updated_at=created, assignee_id=people[assignee].id if assignee else None,
                           group_key=cols.pop("group_key", "service"), **cols))
    session.commit()


def random_tickets(rnd: random.Random, n: int) -> list[dict[str, Any]]:
    """Instants on an hour grid around the windows, so ties and boundaries (due == now, finished == due,
    finished == start) come up; any of them may be missing."""
    def instant() -> datetime | None:
        return None if rnd.random() < 0.25 else T + H * rnd.randint(-8 * 24, 3 * 24)

    rows = []
    for _ in range(n):
        frd, resd = instant(), instant()
        if frd is not None and rnd.random() < 0.15:
            resd = frd
        rows.append({"status": rnd.choice(OPEN + ("resolved", "closed")), "group_key": rnd.choice(GROUPS),
                     "assignee": rnd.choice((None, 1, 2)), "created_at": T + H * rnd.randint(-9 * 24, 0),
                     "first_response_due": frd, "first_response_at": instant(), "resolution_due": resd,
                     "resolved_at": instant(), "closed_at": instant()})
    return rows


def earliest(t: Any) -> datetime | None:
    """The reference for store.models.open_due (the digest's own choice of clock)."""
    running = [t.first_response_due] if t.first_response_at is None else []
    if t.status not in OPEN or all(d is None for d in running + [t.resolution_due]):
        return None
    return running_clock(t)[1]


def test_attainment_counts_each_clock_once(store):
    _, sessions = store
    rows = [
        dict(status="resolved", first_response_due=T + H, first_response_at=T + H / 2,   # both met
             resolution_due=T + 5 * H, resolved_at=T + 4 * H),
        dict(status="open", first_response_due=T + H, first_response_at=T + 3 * H,      # both missed at their due
             resolution_due=T + 5 * H),
        dict(status="waiting", first_response_due=T + H),                                # never answered; paused
        dict(status="new", first_response_due=T + 30 * H, resolution_due=T + 40 * H),   # due tomorrow: not yet
        dict(status="closed", first_response_due=T - 30 * H, first_response_at=T - 31 * H,  # met the week before
             resolution_due=T - 2 * H, closed_at=T + 2 * H),                                  # closed late today
    ]
    with sessions() as session:
        add_tickets(session, rows)
        day, week = SlaRepository(session).attainment([DAY, WEEK], NOW, ())
    assert (day.first_response, day.resolution) == ((1, 3), (1, 2))
    assert (week.first_response, week.resolution) == ((2, 4), (1, 3))


def test_figures_match_the_python_reference_on_random_tickets(store):
    _, sessions = store
    rnd = random.Random(11)
    with sessions() as session:
        add_tickets(session, random_tickets(rnd, 400))
        repo = SlaRepository(session)
        tickets = session.query(Ticket).all()
        for groups in ((), ("service",), ("warehouse", "tech")):
            mine = [t for t in tickets if not groups or t.group_key in groups]
            rows = [ClockRow(t.number, t.first_response_due, t.first_response_at, t.resolution_due, t.resolved_at,
                             t.closed_at, t.status) for t in mine]
            for window, got in zip((DAY, WEEK), repo.attainment([DAY, WEEK], NOW, groups), strict=True):
                want = attainment(rows, *window, NOW)
                assert (got.first_response, got.resolution) == (want["first_response"], want["resolution"])
            for start, end, limit in ((None, NOW, 10), (NOW, TOMORROW, 3)):
                due = sorted((t.number, earliest(t)) for t in mine if earliest(t) is not None
                             and (start is None or earliest(t) >= start) and earliest(t) < end)
                count, listed = repo.open_due(start, end, limit, groups)
                assert (count, [(t.number, earliest(t)) for t in listed]) == (len(due), due[:limit])
                assert count > limit
            oldest = sorted((t for t in mine if t.status in OPEN), key=lambda t: (t.created_at, t.id))[:5]
            assert repo.oldest_open(5, groups) == oldest
            by_status = sorted(((s, sum(t.status == s for t in mine)) for s in OPEN), key=lambda kv: (-kv[1], kv[0]))
            assert repo.backlog_by("status", groups) == [kv for kv in by_status if kv[1]]
            assigned = Counter(t.assignee.display_name if t.assignee else "" for t in mine if t.status in OPEN)
            assert dict(repo.backlog_by("assignee", groups)) == assigned
            assert dict(repo.backlog_by("group_key", groups)) == Counter(t.group_key for t in mine if t.status in OPEN)


def test_a_breach_before_a_pause_stays_due_and_a_tie_goes_to_the_first_response(store):
    _, sessions = store
    rows = [
        dict(status="waiting", first_response_at=T, first_response_due=T + H),  # paused: no resolution deadline
        dict(status="waiting", first_response_at=T, first_response_due=T + H, resolution_due=T + 2 * H),
        dict(status="new", first_response_due=T + 30 * H, resolution_due=T + 30 * H),
        dict(status="open", first_response_at=T, first_response_due=T + 30 * H, resolution_due=T + 40 * H),
        dict(status="resolved", first_response_due=T, resolution_due=T, resolved_at=T + 50 * H),
    ]
    with sessions() as session:
        add_tickets(session, rows)
        repo = SlaRepository(session)
        breached, due_today = repo.open_due(None, NOW, 10, ()), repo.open_due(NOW, TOMORROW, 10, ())
        assert (breached[0], [t.number for t in breached[1]]) == (1, [1002])
        assert [running_clock(t) for t in breached[1]] == [("resolution", T + 2 * H)]
        assert (due_today[0], [running_clock(t) for t in due_today[1]]) == (
            2, [("first_response", T + 30 * H), ("resolution", T + 40 * H)])


def statements_of(engine: Engine, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def log(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", log)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", log)
    return seen


def test_the_figures_are_read_from_the_indexes_made_for_them(store):
    """Breaches, the oldest cases, the day's reopenings and attainment each read their (partial) indexes:
    an expression or condition that drifted from its index's would silently scan the tickets instead.
    SQLite: a fresh database, no ANALYZE statistics. PostgreSQL: sequential scans off, so an index that
    fits is taken, whatever the table's size."""
    engine, sessions = store
    with sessions() as session:
        add_tickets(session, random_tickets(random.Random(3), 50))
        repo = SlaRepository(session)
        queries = {
            "due": lambda: (repo.open_due(None, NOW, 10, ()), repo.open_due(NOW, TOMORROW, 10, ("service",))),
            "oldest": lambda: repo.oldest_open(5, ()),
            "reopened": lambda: repo.count_reopened(*DAY, ()),
            "attainment": lambda: repo.attainment([DAY, WEEK], NOW, ()),
        }
        statements = {name: statements_of(engine, fn) for name, fn in queries.items()}
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if pg:
            conn.exec_driver_sql("SET enable_seqscan = off")
        plans = {name: [" ".join(str(r[-1]) for r in conn.exec_driver_sql(
            ("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + statement, params))
            for statement, params in found if "FROM tickets" in statement or "FROM audit_events" in statement]
            for name, found in statements.items()}
    assert len(plans["due"]) == 4 and all("ix_tickets_open_due" in p for p in plans["due"]), plans["due"]
    assert "ix_tickets_open_since" in plans["oldest"][0], plans["oldest"]
    assert "ix_audit_events_reopened_at" in plans["reopened"][0], plans["reopened"]
    instants = ("first_response_at", "first_response_due", "resolved_at", "closed_at", "resolution_due")
    assert all(f"ix_tickets_{c}" in plans["attainment"][0] for c in instants), plans["attainment"]
    if not pg:  # the only walk is along the open tickets' own index, in order, up to the oldest five
        walks = [p.replace("SCAN tickets USING INDEX ix_tickets_open_since", "") for f in plans.values() for p in f]
        assert not any("SCAN tickets" in p for p in walks), plans
