"""Festival-scale databases: a year of after-sales history, generated once per size and cached.

Every ticket is real enough for the queries that matter: one year of `created_at`, 10 % open (new, open,
waiting), the rest resolved or closed with first-response and resolution times, SLA due columns, and an
audit trail (created + resolved, some reopened). The SLA state is the engine's own: deadlines and the next
event are computed with `handlers.sla` under the bench's policy (`bench.shop.SLA`), and every alert that
would have fired before `NOW` is on record (warnings, breaches — acknowledged — and unclaimed alerts), with
an open pause for each waiting ticket. So the start-up catch-up finds every ticket current, nothing is due
at `NOW`, and `DUE_COUNT` open tickets reach their first-response warning between NOW+30 min and NOW+40 min:
a sweep at `DUE_AT` has exactly those to fire.
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from store.db import make_engine
from store.migrate import alembic_config, upgrade

VERSION = 5  # bump when the generated data changes shape
NOW = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)  # the morning after Double 11, Shanghai 10:00
DUE_AT = NOW + timedelta(minutes=45)
DUE_COUNT = 1000
STAFF = ("xiaomei", "lao_wang", "a_jie", "boss")
CUSTOMERS = 500
CATEGORIES = (("hardware", "warehouse"), ("software", "tech"), ("shipping", "service"), ("refund", "service"))
PRODUCTS = ("laptop", "monitor", "keyboard", "memory", "ssd", "router", "headset", "gpu")
PRIORITIES = ("normal",) * 14 + ("high",) * 3 + ("low",) * 2 + ("urgent",)
BATCH = 20_000

TICKET_COLUMNS = ("id", "number", "title", "description", "status", "priority", "category", "product", "order_no",
                  "customer_name", "customer_handle", "shipping_address", "replacement_tracking",
                  "return_tracking", "rma", "compensation", "group_key", "reporter_id", "assignee_id",
                  "created_at", "updated_at", "first_response_at", "resolved_at", "closed_at", "reopen_count",
                  "first_response_due", "resolution_due", "sla_next_at")
AUDIT_COLUMNS = ("ticket_id", "actor_id", "at", "action", "field", "old_value", "new_value", "detail")


def cache_dir() -> Path:
    """Where generated databases are kept between runs ($AFTERDESK_BENCH_CACHE or a temp dir)."""
    root = os.environ.get("AFTERDESK_BENCH_CACHE") or os.path.join(tempfile.gettempdir(), "afterdesk-bench-cache")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def schema_head() -> str:
    """The schema's identity for the cache key: head revision plus a hash of every migration's source
    (a migration edited in place changes the schema without a new revision)."""
    engine = make_engine("sqlite://")
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = script.get_heads()
    engine.dispose()
    digest = hashlib.sha1()
    for path in sorted(Path(script.versions).glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return "-".join(sorted(heads)) + "-" + digest.hexdigest()[:8]


@dataclass(frozen=True)
class Dataset:
    path: Path
    tickets: int
    open_tickets: int
    due: int
    seconds_to_build: float | None  # None: taken from the cache

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def copy_to(self, directory: Path, name: str = "afterdesk.db") -> Path:
        """A private copy (runs that write must not touch the cached file)."""
        target = directory / name
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.path, target)
        return target


def dataset(tickets: int, log: Callable[[str], None] = print) -> Dataset:
    """The cached database with `tickets` tickets (built on first use)."""
    name = f"tickets-{tickets}-v{VERSION}-{schema_head()}.db"
    path = cache_dir() / name
    open_count = sum(1 for i in range(tickets) if _is_open(i))
    due = min(DUE_COUNT, open_count)
    if path.exists():
        return Dataset(path, tickets, open_count, due, None)
    log(f"dataset: generating {tickets:,} tickets into {path} (cached for later runs) …")
    partial = path.with_suffix(".partial")
    for p in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{partial}")
    upgrade(engine)
    _fill(engine, tickets, due)
    engine.dispose()
    conn = sqlite3.connect(partial)
    try:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()  # the last connection: SQLite removes the -wal and -shm files
    partial.rename(path)
    took = time.perf_counter() - started
    log(f"dataset: {tickets:,} tickets in {took:.1f} s")
    return Dataset(path, tickets, open_count, due, took)


def _is_open(i: int) -> bool:
    return i % 10 == 7


def _sla_engine() -> Any:
    """The SLA engine under the bench's policy (what the benchmarks' runtimes install)."""
    from bench import shop
    from bot.config import load_config
    from handlers.sla.engine import SlaEngine
    from scheduler.settings import load_sla

    config = load_config(env={}, overrides=shop.overrides("sqlite://", console={"enabled": True}, **shop.SLA))
    return SlaEngine(load_sla(config))


def _sla_state(engine: Any, t: Any, pauses: list[Any]) -> tuple[Any, Any, Any, list[Any], list[Any]]:
    """Deadlines, next event, and the alerts that fired (and were acknowledged) before NOW."""
    from handlers.sla.clocks import compute_clocks

    clocks = compute_clocks(engine.settings, t, pauses)
    reminders: list[Any] = []
    acks: list[Any] = []
    for c in clocks:
        if c.done_at is not None or c.due is None:
            continue
        if c.warn_at is not None and c.warn_at < c.due and c.warn_at <= NOW:
            reminders.append(_Fired(f"{c.key}.warn", c.key, c.due, c.due, c.warn_at))
        if c.due <= NOW:
            reminders.append(_Fired(f"{c.key}.breach", c.key, c.due, c.due, c.due))
            acks.append(SimpleNamespace(clock=c.key, clock_due=c.due, at=c.due))
    unclaimed = engine.unclaimed_at(t)
    if unclaimed is not None and unclaimed <= NOW:
        reminders.append(_Fired("unclaimed", "", unclaimed, None, unclaimed))
    next_at = engine.next_event(t, clocks, reminders, acks, [])
    assert next_at is None or next_at > NOW, (t.number, next_at)
    by_key = {c.key: c.due for c in clocks}
    return by_key.get("first_response"), by_key.get("resolution"), next_at, reminders, acks


@dataclass
class _Fired:
    kind: str
    clock: str
    deadline: datetime
    clock_due: datetime | None
    fired_at: datetime
    cleared_at: datetime | None = None
    cleared_reason: str = ""


def _fill(engine: Engine, n: int, due: int) -> None:
    from store.models import Ticket

    sla = _sla_engine()
    rnd = random.Random(618)
    start = NOW - timedelta(days=365)
    span = (NOW - timedelta(minutes=90) - start).total_seconds()
    staff_ids = {key: i + 1 for i, key in enumerate(STAFF)}
    handlers = [staff_ids["xiaomei"], staff_ids["lao_wang"], staff_ids["a_jie"]]
    open_indexes = [i for i in range(n) if _is_open(i)]
    due_rank = {idx: r for r, idx in enumerate(open_indexes[-due:])} if due else {}
    reminder_sql = ("INSERT INTO sla_reminders (ticket_id, kind, clock, deadline, clock_due, fired_at, late, acked_at, "
                    "cleared_at, cleared_reason, message_ids) VALUES (?, ?, ?, ?, ?, ?, 0, ?, NULL, '', '[]')")
    ack_sql = "INSERT INTO sla_acks (ticket_id, clock, clock_due, person_id, at) VALUES (?, ?, ?, ?, ?)"
    pause_sql = "INSERT INTO sla_pauses (ticket_id, reason, started_at, ended_at) VALUES (?, ?, ?, NULL)"
    ticket_sql = f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))})"
    audit_sql = f"INSERT INTO audit_events ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})"
    with engine.begin() as conn:
        people = [(i + 1, key, key.replace("_", " ").title(), "Asia/Shanghai") for i, key in enumerate(STAFF)]
        people += [(len(STAFF) + c + 1, f"slack:UCUST{c:05d}", f"Customer {c}", "Asia/Shanghai")
                   for c in range(CUSTOMERS)]
        conn.exec_driver_sql("INSERT INTO people (id, key, display_name, timezone) VALUES (?, ?, ?, ?)", people)
        conn.exec_driver_sql(
            "INSERT INTO identities (person_id, platform, workspace, user_id, username, can_dm) VALUES (?, ?, ?, ?, ?, ?)",
            [(len(STAFF) + c + 1, "slack", "T0001", f"UCUST{c:05d}", f"cust{c}", 1) for c in range(CUSTOMERS)])
        tickets: list[tuple] = []
        audits: list[tuple] = []
        reminders: list[tuple] = []
        acks: list[tuple] = []
        pauses: list[tuple] = []
        for i in range(n):
            number = 1001 + i
            category, group = CATEGORIES[(i // 3) % len(CATEGORIES)]
            product = PRODUCTS[(i // 5) % len(PRODUCTS)]
            priority = PRIORITIES[i % len(PRIORITIES)]
            reporter = len(STAFF) + 1 + (i * 7919) % CUSTOMERS
            created = start + timedelta(seconds=span * i / max(n, 1) + rnd.random() * 30)
            fr_due = created + timedelta(hours=2)
            res_due = created + timedelta(days=3)
            first = resolved = closed = next_at = None
            assignee = handlers[i % 3]
            reopen = 0
            if i in due_rank:
                # Assigned, not yet answered: the first-response warning (75 % of 2 h) falls due after NOW.
                status = "open"
                created = NOW - timedelta(minutes=60) + timedelta(seconds=600 * due_rank[i] / len(due_rank))
            elif _is_open(i):
                status = ("new", "open", "open", "waiting")[(i // 10) % 4]
                if status == "new":
                    assignee = None
                else:
                    first = created + timedelta(minutes=5 + rnd.random() * 100)
            else:
                first = created + timedelta(minutes=5 + rnd.random() * 170)
                resolved = created + timedelta(hours=1 + rnd.random() * 110)
                if resolved > NOW - timedelta(days=3):
                    status = "resolved"
                    next_at = resolved + timedelta(days=3)  # auto-close (bench.shop.SLA: 3d)
                else:
                    status, closed = "closed", resolved + timedelta(days=3)
                reopen = 1 if i % 50 == 3 else 0
            updated = max(t for t in (created, first, resolved, closed) if t is not None)
            if status in ("new", "open", "waiting"):
                t = Ticket(number=number, status=status, priority=priority, category=category, group_key=group,
                           assignee_id=assignee, created_at=created, first_response_at=first, resolved_at=None,
                           closed_at=None)
                held = []
                if status == "waiting":
                    started = min(NOW - timedelta(hours=1), (first or created) + timedelta(hours=1))
                    held = [SimpleNamespace(reason="waiting", started_at=started, ended_at=None)]
                    pauses.append((i + 1, "waiting", _s(started)))
                fr_due, res_due, next_at, fired, acked = _sla_state(sla, t, held)
                reminders += [(i + 1, r.kind, r.clock, _s(r.deadline), _s(r.clock_due), _s(r.fired_at),
                               _s(r.fired_at) if r.kind.endswith(".breach") else None) for r in fired]
                acks += [(i + 1, a.clock, _s(a.clock_due), len(STAFF), _s(a.at)) for a in acked]
            tickets.append((
                i + 1, number, f"{product.title()} {category} problem, order {80000000 + i}",
                f"Customer reports a {category} issue with the {product}. Order {80000000 + i}.",
                status, priority, category, product, str(80000000 + i), f"Customer {reporter}",
                f"shop-{reporter}", "", "", "", "", None, group, reporter, assignee,
                _s(created), _s(updated), _s(first), _s(resolved), _s(closed), reopen,
                _s(fr_due), _s(res_due), _s(next_at)))
            audits.append((i + 1, reporter, _s(created), "created", "", "", "", ""))
            if resolved is not None:
                audits.append((i + 1, assignee, _s(resolved), "status", "status", "open", "resolved", ""))
                if reopen:
                    audits.append((i + 1, reporter, _s(resolved + timedelta(hours=20)), "reopened", "status",
                                   "resolved", "open", ""))
            if len(tickets) >= BATCH:
                _flush(conn, ((ticket_sql, tickets), (audit_sql, audits), (reminder_sql, reminders),
                              (ack_sql, acks), (pause_sql, pauses)))
                tickets, audits, reminders, acks, pauses = [], [], [], [], []
        _flush(conn, ((ticket_sql, tickets), (audit_sql, audits), (reminder_sql, reminders), (ack_sql, acks),
                      (pause_sql, pauses)))
        conn.exec_driver_sql("INSERT INTO counters (name, value) VALUES ('ticket', ?)", (1000 + n,))


def _flush(conn: Any, batches: Any) -> None:
    for sql, rows in batches:
        if rows:
            conn.exec_driver_sql(sql, rows)


def _s(value: datetime | None) -> str | None:
    # The format SQLAlchemy's SQLite DateTime stores (UTC, no offset); isoformat is 5x faster than strftime.
    return value.isoformat(" ", "microseconds")[:26] if value is not None else None
