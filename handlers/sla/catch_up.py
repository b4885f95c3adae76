"""Once per scheduler start: bring open tickets' stored SLA deadlines in line with the current policy.

Deadlines are recomputed by the change hook, so a ticket opened before [sla] was switched on — or one whose
targets changed in the config since — would keep no (or stale) deadlines until it next changes, and its
reminders would never fire. This pass walks the open tickets by id in batches (a handful of queries per
batch, in a read-only snapshot; never a job per ticket) and recomputes those whose stored deadlines or next
event differ from what the policy gives now — locked in id order and looked at again in a transaction of
their own: the same recompute a change does (pauses, stale alerts, deadlines, next event).
Up-to-date tickets are not written, so a second pass — or a peer starting at the same time — changes nothing.

Nearly every ticket is up to date, so they are checked on plain column rows (a fraction of the cost of ORM
objects, which matters with 100,000 open tickets); only the stale ones are loaded as objects and recomputed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.desk import Desk
from handlers.sla.engine import SlaEngine, engine_for, system_ctx
from store.sla_repository import SlaRepository

log = logging.getLogger("afterdesk.sla")

BATCH = 500


@dataclass
class CatchUpReport:
    """Open tickets looked at, tickets recomputed, batches (transactions) and batches that failed;
    `stopped`: the pass was asked to stop before it reached the last open ticket."""

    checked: int = 0
    updated: int = 0
    batches: int = 0
    errors: int = 0
    stopped: bool = False


def catch_up(desk: Desk, batch: int = BATCH, stop: Callable[[], bool] = lambda: False) -> CatchUpReport:
    """Recompute the deadlines of open tickets that are missing or out of date with the current policy.

    `stop` is asked between batches (the scheduler stopping): the tickets not reached yet are caught up on
    the next start, or by their next change."""
    report = CatchUpReport()
    engine = engine_for(desk)
    if engine is None or not engine.settings.enabled:
        return report  # no clocks: nothing to set (follow-ups keep their own next event)
    now = desk.clock.now()
    after = 0
    while True:
        if stop():
            report.stopped = True
            break
        try:
            # Looked at in a read-only snapshot: on SQLite the write lock would hold up every command for
            # the length of the look (100,000 open tickets: 200 looks of ~50 ms, back to back).
            with desk.uow.read_only() as uow:
                rows = uow.sla.open_rows(after, batch)
                stale = _stale(engine, uow.sla, rows)
        except Exception:
            log.exception("SLA catch-up could not read open tickets after id %s", after)
            report.errors += 1
            break
        if not rows:
            break
        ids = [r.id for r in rows]
        after = ids[-1]
        report.batches += 1
        report.checked += len(ids)
        if stale:
            updated, wrote = _bring_up_to_date(desk, engine, now, stale)
            if updated is None:
                report.errors += 1
                continue
            report.updated += updated
            if wrote:
                desk.on_commit()
    if report.updated or report.errors:
        log.info("SLA catch-up: %s open ticket(s) checked, %s brought up to date with the current policy%s",
                 report.checked, report.updated, f", {report.errors} batch(es) failed" if report.errors else "")
    return report


def _stale(engine: SlaEngine, repo: SlaRepository, rows: Sequence[Any]) -> list[int]:
    """The ids of these tickets whose stored deadlines or next event differ from what the policy gives now."""
    sla = repo.rows_of([r.id for r in rows], plain=True)
    return [r.id for r in rows if not engine.is_current(
        r, sla[r.id].pauses, sla[r.id].reminders, sla[r.id].acks, sla[r.id].followups)]


def _bring_up_to_date(desk: Desk, engine: SlaEngine, now: datetime, ids: list[int]) -> tuple[int | None, bool]:
    """Lock the stale tickets, look again (a command or a peer may have recomputed them meanwhile) and
    recompute those still stale, in one transaction; (how many, whether notifications were queued), or
    (None, False) if it failed: they keep what they had, recomputed at their next change or the next start."""
    with desk.uow() as uow:
        try:
            stale = _stale(engine, uow.sla, uow.sla.lock_open_rows_of(ids))
            if not stale:
                return 0, False
            ctx = system_ctx(desk, uow, now)
            uow.sla.preload(stale)
            for ticket in uow.sla.tickets(stale):
                engine.recompute(ctx, ticket)
            uow.commit()
        except Exception:
            log.exception("SLA catch-up failed on open tickets with ids %s…%s", ids[0], ids[-1])
            return None, False
    return len(stale), ctx.wrote_outbox
