"""Benchmark 2: the SLA sweep at 10k and 1M tickets, nothing due and 1,000 reminders due.

Ours: `scheduler.jobs.sweep` (claims due tickets through the `sla_next_at` index). Baseline: a naive sweep that
loads every open ticket, decides in Python which are due, and fires them with the same alert code.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import dataset as data
from bench import shop
from bench.common import Report, Row, Sizes, median, ratio, timed, timed_budget, scratch_dir
from handlers.clock import FakeClock
from store.models import Ticket

OPEN = ("new", "open", "waiting")
NOTHING_DUE_TARGET_MS = 10.0


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


def measure(size: int, sizes: Sizes, log: Callable[[str], None], due: bool = True, naive_due: bool = True
            ) -> dict[str, Any]:
    from scheduler.jobs import sweep

    ds = data.dataset(size, log)
    tmp = scratch_dir("afterdesk-sweep-")
    out: dict[str, Any] = {"tickets": size, "open": ds.open_tickets, "due": ds.due}
    # Nothing due: read-only, so one copy serves every repeat.
    rt = _runtime(ds.copy_to(tmp), data.NOW)
    sweep(rt.desk)  # warm the connection pool and statement cache, as a running bot has them
    ms, samples, rep = timed(lambda: sweep(rt.desk), sizes.repeats * 4)
    assert rep.tickets == 0, f"nothing should be due at NOW, the sweep processed {rep.tickets}"
    out["idle_ms"], out["idle_samples_ms"] = ms * 1000, [s * 1000 for s in samples]
    naive_ms, naive_samples, naive_n = timed_budget(lambda: naive_sweep(rt.desk), sizes.repeats, 20.0)
    assert naive_n == 0
    out["naive_idle_ms"], out["naive_idle_samples_ms"] = naive_ms * 1000, [s * 1000 for s in naive_samples]
    rt.engine.dispose()
    # 1,000 due: every repeat on a fresh copy (the sweep fires and moves each ticket's next event).
    due_samples, naive_due_samples = [], []
    spent = 0.0
    for _ in range(max(1, min(3, sizes.repeats)) if due else 0):
        if spent > 20.0:  # long enough to need no repeat
            break
        rt = _runtime(ds.copy_to(tmp), data.DUE_AT)
        s, _, (calls, tickets, fired) = timed(partial(sweep_all, rt.desk), 1)
        assert fired == ds.due, f"expected {ds.due} reminders, {fired} fired ({tickets} tickets swept)"
        due_samples.append(s * 1000)
        out.update(due_calls=calls, due_fired=fired, due_tickets=tickets)
        rt.engine.dispose()
        spent += due_samples[-1] / 1000
        if naive_due:
            rt = _runtime(ds.copy_to(tmp), data.DUE_AT)
            s, _, n = timed(partial(naive_sweep, rt.desk), 1)
            assert n == ds.due, f"naive sweep found {n} due, expected {ds.due}"
            naive_due_samples.append(s * 1000)
            rt.engine.dispose()
            spent += naive_due_samples[-1] / 1000
    out.update(due_ms=median(due_samples) if due_samples else None, due_samples_ms=due_samples,
               naive_due_ms=median(naive_due_samples) if naive_due_samples else None,
               naive_due_samples_ms=naive_due_samples)
    return out


def run(report: Report, sizes: Sizes, log: Callable[[str], None]) -> None:
    small, big = (measure(n, sizes, log, due=i < sizes.due_sizes, naive_due=i < sizes.naive_due_sizes)
                  for i, n in enumerate(sizes.sweep_sizes))
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
