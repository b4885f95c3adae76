"""Once per scheduler start: bring open tickets' stored SLA deadlines in line with the current policy.

Deadlines are recomputed by the change hook, so a ticket opened before [sla] was switched on — or one whose
targets changed in the config since — would keep no (or stale) deadlines until it next changes, and its
reminders would never fire. This pass walks the open tickets by id in batches (one transaction and a handful
of queries per batch, rows locked in id order; never a job per ticket) and recomputes those whose stored deadlines or next event differ
from what the policy gives now: the same recompute a change does (pauses, stale alerts, deadlines, next event).
Up-to-date tickets are not written, so a second pass — or a peer starting at the same time — changes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers.desk import Desk
from handlers.sla.engine import engine_for, system_ctx

log = logging.getLogger("afterdesk.sla")

BATCH = 200


@dataclass
class CatchUpReport:
    """Open tickets looked at, tickets recomputed, batches (transactions) and batches that failed."""

    checked: int = 0
    updated: int = 0
    batches: int = 0
    errors: int = 0


def catch_up(desk: Desk, batch: int = BATCH) -> CatchUpReport:
    """Recompute the deadlines of open tickets that are missing or out of date with the current policy."""
    report = CatchUpReport()
    engine = engine_for(desk)
    if engine is None or not engine.settings.enabled:
        return report  # no clocks: nothing to set (follow-ups keep their own next event)
    now = desk.clock.now()
    after = 0
    while True:
        wrote = False
        with desk.uow() as uow:
            ids = uow.sla.lock_open_batch(after, batch)
            if not ids:
                break
            after = ids[-1]
            report.batches += 1
            try:
                ctx = system_ctx(desk, uow, now)
                rows = uow.sla.rows_of(ids)
                updated = 0
                for ticket in uow.sla.tickets(ids):
                    r = rows[ticket.id]
                    if engine.is_current(ticket, r.pauses, r.reminders, r.acks, r.followups):
                        continue
                    engine.recompute(ctx, ticket)
                    updated += 1
                uow.commit()
            except Exception:
                # These tickets keep what they had (recomputed at their next change or the next start);
                # the other batches still get their deadlines.
                log.exception("SLA catch-up failed on open tickets with ids %s…%s", ids[0], ids[-1])
                report.errors += 1
                continue
            wrote = ctx.wrote_outbox
        report.checked += len(ids)
        report.updated += updated
        if wrote:
            desk.on_commit()
    if report.updated or report.errors:
        log.info("SLA catch-up: %s open ticket(s) checked, %s brought up to date with the current policy%s",
                 report.checked, report.updated, f", {report.errors} batch(es) failed" if report.errors else "")
    return report
