"""Benchmark 3: one manager digest over a year of history (1,000,000 tickets).

Ours: `handlers.sla.digest.digest_for` (aggregate queries). Baseline: the same figures computed by loading
every ticket (and the reopen events) into Python — also the reference the digest's SQL is tested against
(tests/sla/test_digest_queries.py).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bench import dataset as data
from bench import shop
from bench.common import Report, Row, Sizes, ratio, timed_budget, scratch_dir
from handlers.clock import FakeClock
from store.models import AuditEvent, Person, Ticket

TARGET_S = 1.0
OPEN = ("new", "open", "waiting")


class ClockRow(NamedTuple):
    """What attainment needs of one ticket."""

    number: int
    first_response_due: datetime | None
    first_response_at: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    status: str


def attainment(rows: Sequence[ClockRow], start: datetime, end: datetime, now: datetime) -> dict[str, tuple[int, int]]:
    """(met, total) per clock for clocks that concluded in [start, end): a met clock when it finished,
    a missed one at its deadline — so each clock is counted once, whatever happened later."""
    result = {"first_response": (0, 0), "resolution": (0, 0)}
    for r in rows:
        done = r.resolved_at or r.closed_at if r.status in ("resolved", "closed") else None
        for key, due, finished in (("first_response", r.first_response_due, r.first_response_at or done),
                                   ("resolution", r.resolution_due, done)):
            if due is None:
                continue
            met, total = result[key]
            if finished is not None and finished <= due:
                if start <= finished < end:
                    result[key] = (met + 1, total + 1)
            elif start <= due < end and due < now:
                result[key] = (met, total + 1)
    return result


def ours(desk: Any) -> Any:
    from handlers.sla.digest import digest_for
    from handlers.sla.engine import engine_for

    settings = engine_for(desk).settings
    with desk.uow.read_only() as uow:
        return digest_for(uow, settings, desk.policy, shop.DIGEST_RECIPIENT, None, desk.clock.now())


def naive(desk: Any) -> dict[str, Any]:
    """The digest's numbers from every ticket loaded into Python (columns, not ORM objects: the kind
    version of the naive way)."""
    now = desk.clock.now()
    zone = ZoneInfo("Asia/Shanghai")
    day = now.astimezone(zone).date()

    def midnight(d: Any) -> Any:
        from datetime import datetime

        return datetime.combine(d, datetime.min.time(), tzinfo=zone)

    today, yesterday = midnight(day), midnight(day - timedelta(days=1))
    week, tomorrow = midnight(day - timedelta(days=7)), midnight(day + timedelta(days=1))
    cols = (Ticket.number, Ticket.title, Ticket.status, Ticket.group_key, Ticket.assignee_id, Ticket.category,
            Ticket.product, Ticket.created_at, Ticket.first_response_due, Ticket.first_response_at,
            Ticket.resolution_due, Ticket.resolved_at, Ticket.closed_at)
    with desk.uow.read_only() as uow:
        rows = uow.session.execute(select(*cols)).all()
        reopen_at = uow.session.execute(select(AuditEvent.at).where(AuditEvent.action == "reopened")).scalars().all()
        names = dict(uow.session.execute(select(Person.id, Person.display_name)).all())
    figures: dict[str, Any] = {
        "created": sum(1 for r in rows if yesterday <= r.created_at < today),
        "resolved": sum(1 for r in rows if r.resolved_at and yesterday <= r.resolved_at < today),
        "reopened": sum(1 for at in reopen_at if yesterday <= at < today),
    }
    open_rows = [r for r in rows if r.status in OPEN]
    figures["backlog"] = len(open_rows)
    figures["by_status"] = Counter(r.status for r in open_rows).most_common()
    figures["by_group"] = Counter(r.group_key for r in open_rows).most_common()
    figures["by_assignee"] = Counter(names.get(r.assignee_id, "") for r in open_rows).most_common()

    def within(v: Any, a: Any, b: Any) -> bool:
        return v is not None and a <= v < b

    clock_rows = [ClockRow(r.number, r.first_response_due, r.first_response_at, r.resolution_due, r.resolved_at,
                           r.closed_at, r.status) for r in rows
                  if any(within(v, week, today) for v in (r.first_response_at, r.first_response_due, r.resolved_at,
                                                         r.closed_at, r.resolution_due))]
    figures["attainment_day"] = attainment(clock_rows, yesterday, today, now)
    figures["attainment_week"] = attainment(clock_rows, week, today, now)
    figures["due_before_tomorrow"] = sum(
        1 for r in open_rows if (r.first_response_at is None and r.first_response_due and r.first_response_due <
                                 tomorrow) or (r.resolution_due and r.resolution_due < tomorrow))
    figures["oldest"] = [r.number for r in sorted(open_rows, key=lambda r: (r.created_at, r.number))[:5]]
    recent = [r for r in rows if week <= r.created_at < today]
    figures["top_categories"] = Counter(r.category for r in recent if r.category).most_common(3)
    figures["top_products"] = Counter(r.product for r in recent if r.product).most_common(3)
    return figures


def run(report: Report, sizes: Sizes, log: Callable[[str], None]) -> None:
    ds = data.dataset(sizes.digest_size, log)
    tmp = scratch_dir("afterdesk-digest-")
    rt = shop.runtime(f"sqlite:///{ds.copy_to(tmp)}", FakeClock(data.NOW), console={"enabled": True}, **shop.SLA)
    ours(rt.desk)  # warm-up
    s, samples, text = timed_budget(lambda: ours(rt.desk), sizes.repeats, 20.0)
    ns, nsamples, figures = timed_budget(lambda: naive(rt.desk), 3, sizes.naive_budget_s)
    rt.engine.dispose()
    body = text.params.get("body", "")
    report.details["digest"] = {"tickets": ds.tickets, "samples_s": samples, "naive_samples_s": nsamples,
                                "digest": body, "naive_figures": {k: str(v) for k, v in figures.items()}}
    wrong = mismatches(body, figures)
    report.add(Row("digest", f"manager digest, {ds.tickets:,} tickets (1 year)", s, "s",
                   "naive: load tickets into Python", ns, ratio(ns, s), f"< {TARGET_S:g} s", s < TARGET_S,
                   note=f"created {figures['created']}, resolved {figures['resolved']}, reopened "
                        f"{figures['reopened']}, backlog {figures['backlog']}"
                        + (f" (the digest text disagrees with the naive figures: {', '.join(wrong)} — check)"
                           if wrong else "")))


def mismatches(body: str, figures: dict[str, Any]) -> list[str]:
    """Naive figures the digest's text does not show (a fast digest must still be the same digest)."""
    due = sum(int(n) for n in re.findall(r"^(?:Breached|Due today) \((\d+)\):$", body, re.M))
    week = [f"({met}/{total}) over 7 days" for met, total in figures["attainment_week"].values()]
    checks = {"created": f": {figures['created']} created", "backlog": f"Open now: {figures['backlog']} ",
              "attainment": all(w in body for w in week), "breached + due today": due == figures["due_before_tomorrow"]}
    return [name for name, ok in checks.items() if not (ok in body if isinstance(ok, str) else ok)]
