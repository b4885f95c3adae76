"""Benchmark 2: the SLA sweep at 10k and 1M tickets, nothing due and 1,000 reminders due.

Ours: `scheduler.jobs.sweep` (claims due tickets through the `sla_next_at` index). Baseline: a naive sweep that
loads every open ticket, decides in Python which are due, and fires them with the same alert code.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import dataset as data
from bench import shop
from bench.common import Report, Row, Sizes, median, ratio, scratch_dir, timed, timed_budget
from handlers.clock import FakeClock
from store.models import Ticket

OPEN = ("new", "open", "waiting")
NOTHING_DUE_TARGET_MS = 10.0
NAIVE_BUDGET_S = 4.0  # the naive nothing-due sweep repeats until this is spent (one run at 1M takes ~5 s)
IDLE_REPEATS = 10  # × sizes.repeats nothing-due sweeps per size (well under a millisecond each)
DUE_REPEATS, DUE_BUDGET_S = 3, 10.0  # 1,000-due runs of ours, each on a fresh copy of the database


def naive_due(ticket: Ticket, now: datetime, warn_at: float, unclaimed: timedelta) -> bool:
    """What a poll-everything sweep decides per ticket: a warning, breach or unclaimed alert is due."""
    created = ticket.created_at
    if ticket.first_response_at is None and ticket.first_response_due is not None:
        due = ticket.first_response_due
        if now >= created + (due - created) * warn_at:
            return True
    if ticket.resolution_due is not None and ticket.status != "waiting":
        due = ticket.resolution_due
        if now >= created + (due - created) * warn_at:
            return True
    return ticket.status == "new" and ticket.assignee_id is None and now >= created + unclaimed


def naive_sweep(desk: Any) -> int:
    """Load every open ticket, pick the due ones in Python, fire each with the real alert code."""
    from handlers.sla import alerts
    from handlers.sla.engine import engine_for, system_ctx
    from store.sla_repository import SlaRepository

    engine = engine_for(desk)
    now = desk.clock.now()
    settings = engine.settings
    with desk.uow() as uow:
        tickets = uow.session.execute(select(Ticket).where(Ticket.status.in_(OPEN))).unique().scalars().all()
        # The naive way has no memory of what fired: it asks the reminder table for each candidate.
        due = [t.id for t in tickets if naive_due(t, now, settings.warn_at or 1.0, settings.unclaimed_after)
               and (t.sla_next_at is not None and t.sla_next_at <= now)]
    for ticket_id in due:
        with desk.uow() as uow:
            repo = SlaRepository(uow.session)
            ctx = system_ctx(desk, uow, now)
            ticket = uow.tickets.get(ticket_id)
            alerts.process(ctx, engine, repo, ticket)
            uow.commit()
    return len(due)


def sweep_all(desk: Any) -> tuple[int, int, int]:
    """Run the scheduler's sweep until nothing is due: (calls, tickets, alerts fired)."""
    from scheduler.jobs import sweep

    calls = tickets = fired = 0
    while True:
        rep = sweep(desk)
        calls += 1
        tickets += rep.tickets
        fired += len(rep.fired)
        if rep.tickets == 0:
            return calls, tickets, fired


def _runtime(path: Path, at: datetime) -> Any:
    return shop.runtime(f"sqlite:///{path}", FakeClock(at), console={"enabled": True}, **shop.SLA)


@dataclass
class _Size:
    """One dataset's copy and the runtime on it at NOW, and what was measured on it."""

    ds: data.Dataset
    tmp: Path
    path: Path
    rt: Any
    out: dict[str, Any]


def _prepare(size: int, log: Callable[[str], None]) -> _Size:
    from scheduler.jobs import sweep

    ds = data.dataset(size, log)
    tmp = scratch_dir("afterdesk-sweep-", memory=True)
    path = ds.copy_to(tmp)
    rt = _runtime(path, data.NOW)
    sweep(rt.desk)  # warm the connection pool and statement cache, as a running bot has them
    return _Size(ds, tmp, path, rt, {"tickets": size, "open": ds.open_tickets, "due": ds.due})


def nothing_due(prepared: list[_Size], repeats: int) -> None:
    """The nothing-due sweep on each size, their samples interleaved: the growth from one size to the other
    is then read under the same machine load (other processes share the cores)."""
    from scheduler.jobs import sweep

    samples: list[list[float]] = [[] for _ in prepared]
    for _ in range(repeats):
        for i, p in enumerate(prepared):
            t0 = time.perf_counter()
            rep = sweep(p.rt.desk)
            samples[i].append((time.perf_counter() - t0) * 1000)
            assert rep.tickets == 0, f"nothing should be due at NOW, the sweep processed {rep.tickets}"
    for p, ms in zip(prepared, samples, strict=True):
        p.out["idle_ms"], p.out["idle_samples_ms"] = median(ms), ms


def measure(p: _Size, sizes: Sizes, due: bool = True, naive_due: bool = True) -> dict[str, Any]:
    """The naive nothing-due baseline, then the 1,000-due sweeps (ours and naive) on fresh copies."""
    ds, tmp, out = p.ds, p.tmp, p.out
    # The naive sweep is thousands of times slower; a few seconds of it tell the figure well enough.
    naive_ms, naive_samples, naive_n = timed_budget(lambda: naive_sweep(p.rt.desk), sizes.repeats, NAIVE_BUDGET_S)
    assert naive_n == 0
    out["naive_idle_ms"], out["naive_idle_samples_ms"] = naive_ms * 1000, [s * 1000 for s in naive_samples]
    p.rt.engine.dispose()
    # 1,000 due: every run on a pristine copy (the sweep fires and moves each ticket's next event). The
    # nothing-due runs wrote nothing, so their copy serves the first.
    due_samples, naive_due_samples = [], []
    spent = 0.0
    for i in range(DUE_REPEATS if due else 0):
        if spent > DUE_BUDGET_S:  # long enough to need no repeat
            break
        rt = _runtime(p.path if i == 0 else ds.copy_to(tmp), data.DUE_AT)
        s, _, (calls, tickets, fired) = timed(partial(sweep_all, rt.desk), 1)
        assert fired == ds.due, f"expected {ds.due} reminders, {fired} fired ({tickets} tickets swept)"
        due_samples.append(s * 1000)
        out.update(due_calls=calls, due_fired=fired, due_tickets=tickets)
        rt.engine.dispose()
        spent += due_samples[-1] / 1000
    if due and naive_due:  # once: it is the slow one
        rt = _runtime(ds.copy_to(tmp), data.DUE_AT)
        s, _, n = timed(partial(naive_sweep, rt.desk), 1)
        assert n == ds.due, f"naive sweep found {n} due, expected {ds.due}"
        naive_due_samples.append(s * 1000)
        rt.engine.dispose()
    for suffix in ("", "-wal", "-shm"):  # free the memory before the next size's copies
        Path(f"{p.path}{suffix}").unlink(missing_ok=True)
    out.update(due_ms=median(due_samples) if due_samples else None, due_samples_ms=due_samples,
               naive_due_ms=median(naive_due_samples) if naive_due_samples else None,
               naive_due_samples_ms=naive_due_samples)
    return out


def run(report: Report, sizes: Sizes, log: Callable[[str], None]) -> None:
    prepared = [_prepare(n, log) for n in sizes.sweep_sizes]
    nothing_due(prepared, sizes.repeats * IDLE_REPEATS)
    small, big = (measure(p, sizes, due=i < sizes.due_sizes, naive_due=i < sizes.naive_due_sizes)
                  for i, p in enumerate(prepared))
    report.details["sweep"] = {"small": small, "big": big}
    for r in (small, big):
        label = f"{r['tickets']:,} tickets ({r['open']:,} open)"
        report.add(Row("sla sweep", f"nothing due, {label}", r["idle_ms"], "ms", "naive: load open tickets",
                       r["naive_idle_ms"], ratio(r["naive_idle_ms"], r["idle_ms"]),
                       f"< {NOTHING_DUE_TARGET_MS:g} ms", r["idle_ms"] < NOTHING_DUE_TARGET_MS))
        if r["due_ms"] is not None:
            report.add(Row("sla sweep", f"{r['due']:,} due, {label}", r["due_ms"], "ms",
                           "naive: load open tickets" if r["naive_due_ms"] is not None else "", r["naive_due_ms"],
                           ratio(r["naive_due_ms"], r["due_ms"]),
                           note=f"{r['due_fired']} alerts fired in {r['due_calls']} sweep call(s), "
                                f"{r['due_ms'] / r['due']:.1f} ms per due ticket"))
    growth = ratio(big["idle_ms"], small["idle_ms"])
    report.add(Row("sla sweep", f"nothing-due growth {big['tickets']:,} vs {small['tickets']:,}", big["idle_ms"], "ms",
                   f"same sweep at {small['tickets']:,}", small["idle_ms"], growth, "flat (< 2x)",
                   growth is not None and growth < 2.0,
                   note=f"naive grows {ratio(big['naive_idle_ms'], small['naive_idle_ms']):.0f}x over the same span"))
