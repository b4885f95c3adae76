"""The SLA sweep: claim the tickets whose next SLA event is due (via the `sla_next_at` index), fire what is
due and store each one's next event.

Due tickets are handled in batches, one transaction per batch: a ticket's alerts, audit events and outbox rows
commit together (with the rest of its batch), and the batch's tickets and SLA rows are read in a handful of
queries instead of a dozen per ticket. If anything in a batch fails, the batch is rolled back and its tickets
are redone one per transaction, so one broken ticket cannot hold back the others."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.desk import Desk
from handlers.sla import alerts
from handlers.sla.engine import SlaEngine, engine_for, system_ctx

log = logging.getLogger("afterdesk.sla")

# Tickets per transaction: enough to share the transaction's and the reads' cost (it measured fastest
# around 20: a bigger session makes every flush dearer), and short enough — a batch holds SQLite's write
# lock for ~40 ms — not to keep a command waiting for long.
BATCH = 20


@dataclass
class SweepReport:
    """What one sweep did: tickets looked at, alerts fired (ticket number, kind, late), auto-closes."""

    tickets: int = 0
    fired: list[tuple[int, str, bool]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    errors: int = 0

    @property
    def late(self) -> int:
        return sum(1 for _, _, late in self.fired if late)

    def kinds(self, number: int | None = None) -> list[str]:
        return [kind for n, kind, _ in self.fired if number is None or n == number]

    def add(self, fired: alerts.Fired) -> None:
        self.tickets += 1
        self.fired += fired.alerts
        self.closed += fired.closed


def sweep(desk: Desk, limit: int = 500, batch: int = BATCH) -> SweepReport:
    """Process every ticket whose next SLA event is due now (at most `limit` per call)."""
    engine = engine_for(desk)
    if engine is None:
        raise RuntimeError("the SLA engine is not installed on this desk (no [sla] or [digest] in the config)")
    now = desk.clock.now()
    report = SweepReport()
    # A ticket is visited once per sweep even if its next event stayed due (it never should).
    seen: list[int] = []
    while len(seen) < limit:
        want = min(batch, limit - len(seen))
        done: list[alerts.Fired] | None = None
        wrote = False
        with desk.uow() as uow:
            ids = uow.sla.claim_due(now, seen, want)
            if not ids:
                break
            seen += ids
            try:
                ctx = system_ctx(desk, uow, now)
                uow.sla.preload(ids)
                tickets = {t.id: t for t in uow.sla.tickets(ids)}
                done = [alerts.process(ctx, engine, uow.sla, tickets[i]) for i in ids]
                uow.commit()
                wrote = ctx.wrote_outbox
            except Exception:
                log.warning("SLA sweep: a batch of %s ticket(s) failed; redoing them one by one", len(ids),
                            exc_info=True)
                uow.rollback()
                done = None
        if done is None:
            for ticket_id in ids:
                _one(desk, engine, now, ticket_id, report)
        else:
            for fired in done:
                report.add(fired)
            if wrote:
                desk.on_commit()
        if len(ids) < want:
            break  # nothing else was due (or free) when this batch was claimed
    return report


def _one(desk: Desk, engine: SlaEngine, now: datetime, ticket_id: int, report: SweepReport) -> None:
    """One ticket of a failed batch in its own transaction; if it fails too, it is retried in a minute."""
    with desk.uow() as uow:
        ticket = uow.tickets.get(ticket_id, lock=True)
        if ticket is None or ticket.sla_next_at is None or ticket.sla_next_at > now:
            return  # a peer handled it meanwhile
        try:
            ctx = system_ctx(desk, uow, now)
            fired = alerts.process(ctx, engine, uow.sla, ticket)
            uow.commit()
        except Exception:
            log.exception("SLA sweep failed on ticket id %s; retrying it in a minute", ticket_id)
            uow.rollback()
            uow.sla.postpone(ticket_id, now + max(timedelta(minutes=1), engine.settings.late_grace))
            uow.commit()
            report.errors += 1
            return
    report.add(fired)
    if ctx.wrote_outbox:
        desk.on_commit()
