"""The SLA sweep: claim each ticket whose next SLA event is due (via the `sla_next_at` index),
fire what is due and store its next event — one transaction per ticket, alerts and outbox rows together."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from handlers.desk import Desk
from handlers.sla import alerts
from handlers.sla.engine import engine_for, system_ctx

log = logging.getLogger("afterdesk.sla")


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


def sweep(desk: Desk, limit: int = 500) -> SweepReport:
    """Process every ticket whose next SLA event is due now (at most `limit` per call)."""
    engine = engine_for(desk)
    if engine is None:
        raise RuntimeError("the SLA engine is not installed on this desk (no [sla] or [digest] in the config)")
    now = desk.clock.now()
    report = SweepReport()
    seen: list[int] = []
    while len(seen) < limit:
        wrote = False
        with desk.uow() as uow:
            repo = uow.sla
            ticket_id = repo.claim_due(now, seen)
            if ticket_id is None:
                break
            # A ticket is visited once per sweep even if its next event stayed due (it never should).
            seen.append(ticket_id)
            try:
                ctx = system_ctx(desk, uow, now)
                ticket = uow.tickets.get(ticket_id)
                assert ticket is not None
                fired = alerts.process(ctx, engine, repo, ticket)
                uow.commit()
            except Exception:
                # One broken ticket must not stop the others, nor be retried every few seconds.
                log.exception("SLA sweep failed on ticket id %s; retrying it in a minute", ticket_id)
                uow.rollback()
                repo.postpone(ticket_id, now + max(timedelta(minutes=1), engine.settings.late_grace))
                uow.commit()
                report.errors += 1
                continue
            wrote = ctx.wrote_outbox
        report.tickets += 1
        report.fired += fired.alerts
        report.closed += fired.closed
        if wrote:
            desk.on_commit()
    return report
