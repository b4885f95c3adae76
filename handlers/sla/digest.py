"""The daily digest: yesterday's activity, the backlog, SLA attainment, breaches, the oldest cases and
what the cases are about — sent once per (recipient, local date) at the recipient's own local time."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import notify
from handlers.desk import Desk
from handlers.policy import DeskPolicy
from handlers.replies import Text
from handlers.sla.clocks import FIRST_RESPONSE, RESOLUTION
from handlers.sla.engine import engine_for, system_ctx
from handlers.sla.format import at, clock_name, span, word
from handlers.sla.policy import DigestRecipient, SlaSettings
from store.models import Ticket
from store.sla_models import DigestRun

if TYPE_CHECKING:
    from store.uow import UnitOfWork

log = logging.getLogger("afterdesk.sla")
LIST_LIMIT = 10


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _day(day: date) -> str:
    return f"{day:%a %Y-%m-%d}"


def _age(delta: timedelta) -> str:
    return span(delta if delta < timedelta(days=1) else timedelta(hours=delta // timedelta(hours=1)))


def _title(ticket: Ticket) -> str:
    return ticket.title if len(ticket.title) <= 60 else ticket.title[:59] + "…"


def _assignee(ticket: Ticket) -> str:
    return notify.display(ticket.assignee) if ticket.assignee else word("sla_digest_unassigned")


def _pairs(items: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{k} {n}" for k, n in items) or word("sla_digest_none")


def running_clock(ticket: Ticket) -> tuple[str, datetime]:
    """The open ticket's earliest running deadline and its clock (the first response on a tie); the
    store's `open_due` expression picks the same one in SQL."""
    clocks = [(FIRST_RESPONSE, ticket.first_response_due)] if ticket.first_response_at is None else []
    clocks.append((RESOLUTION, ticket.resolution_due))
    return min(((k, d) for k, d in clocks if d is not None), key=lambda kd: kd[1])


def _rate(met_total: tuple[int, int]) -> str:
    met, total = met_total
    if not total:
        return word("sla_digest_no_rate")
    return word("sla_digest_rate", pct=round(100 * met / total), met=met, total=total)


def build_digest(uow: UnitOfWork, settings: SlaSettings, policy: DeskPolicy, recipient: DigestRecipient,
                 day: date, now: datetime, late: bool = False) -> Text:
    """The digest of `day` (sent that morning; it reports on the day before)."""
    repo = uow.sla
    zone, groups = ZoneInfo(recipient.timezone), recipient.groups
    today, yesterday = _midnight(day, zone), _midnight(day - timedelta(days=1), zone)
    week, tomorrow = _midnight(day - timedelta(days=7), zone), _midnight(day + timedelta(days=1), zone)
    late_part = word("sla_digest_late", at=recipient.at.strftime("%H:%M")) if late else ""
    created = repo.count_created(yesterday, today, groups)
    resolved = repo.count_resolved(yesterday, today, groups)
    reopened = repo.count_reopened(yesterday, today, groups)
    by_status = repo.backlog_by("status", groups)
    total = sum(n for _, n in by_status)
    if not (created or resolved or reopened or total):
        return Text("sla_digest_empty", {"date": _day(day), "day": _day(day - timedelta(days=1)), "late": late_part})

    lines = [word("sla_digest_head", date=_day(day), tz=recipient.timezone, late=late_part),
             word("sla_digest_day", day=_day(day - timedelta(days=1)), created=created, resolved=resolved,
                  reopened=reopened),
             word("sla_digest_backlog", total=total, by_status=_pairs(by_status))]
    if total:
        by_group = [(policy.group_name(k), n) for k, n in repo.backlog_by("group_key", groups)]
        by_assignee = [(k or word("sla_digest_unassigned"), n) for k, n in repo.backlog_by("assignee", groups)]
        lines += [word("sla_digest_backlog_groups", by_group=_pairs(by_group)),
                  word("sla_digest_backlog_assignees", by_assignee=_pairs(by_assignee))]
    day_rates, week_rates = repo.attainment([(yesterday, today), (week, today)], now, groups)
    lines.append(word("sla_digest_attainment", day=_day(day - timedelta(days=1)),
                      fr_day=_rate(day_rates.first_response), fr_week=_rate(week_rates.first_response),
                      res_day=_rate(day_rates.resolution), res_week=_rate(week_rates.resolution)))
    for head, start, end in (("sla_digest_breached", None, now), ("sla_digest_due_today", now, tomorrow)):
        count, tickets = repo.open_due(start, end, LIST_LIMIT, groups)
        if count:
            lines.append(word(head, count=count))
            for t in tickets:
                key, due = running_clock(t)
                lines.append(word("sla_digest_item_clock", ref=f"#{t.number}", title=_title(t),
                                  clock=clock_name(key), due=at(due, recipient.timezone), assignee=_assignee(t)))
            if count > LIST_LIMIT:
                lines.append(word("sla_digest_more", count=count - LIST_LIMIT))
    oldest = repo.oldest_open(settings.digest_oldest, groups)
    if oldest:
        lines.append(word("sla_digest_oldest"))
        lines += [word("sla_digest_item_age", ref=f"#{t.number}", title=_title(t), age=_age(now - t.created_at),
                       status=t.status, assignee=_assignee(t)) for t in oldest]
    lines.append(word("sla_digest_top", categories=_pairs(repo.top("category", week, today, settings.digest_top, groups)),
                      products=_pairs(repo.top("product", week, today, settings.digest_top, groups))))
    return Text("sla_digest", {"body": "\n".join(lines)})


def digest_for(uow: UnitOfWork, settings: SlaSettings, policy: DeskPolicy, recipient_key: str,
               day: date | None, now: datetime) -> Text:
    """One recipient's digest (the CLI's `afterdesk digest --to`); `day` defaults to their today."""
    recipient = next((r for r in settings.digests if r.key == recipient_key), None)
    if recipient is None:
        known = ", ".join(r.key for r in settings.digests) or "none configured"
        raise KeyError(f"'{recipient_key}' is not a digest recipient (recipients: {known})")
    day = day or now.astimezone(ZoneInfo(recipient.timezone)).date()
    return build_digest(uow, settings, policy, recipient, day, now)


def send_due_digests(desk: Desk) -> list[tuple[str, date]]:
    """Send each recipient's digest once its local time has come today; once per (recipient, date)."""
    engine = engine_for(desk)
    if engine is None:
        raise RuntimeError("the SLA engine is not installed on this desk (no [sla] or [digest] in the config)")
    settings, now, sent = engine.settings, desk.clock.now(), []
    grace = max(settings.late_grace, timedelta(seconds=3 * settings.digest_check_seconds))
    for recipient in settings.digests:
        zone = ZoneInfo(recipient.timezone)
        local = now.astimezone(zone)
        if local.time() < recipient.at:
            continue
        day = local.date()
        late = now - datetime.combine(day, recipient.at, tzinfo=zone) > grace
        # Built from a read-only snapshot: the write lock is taken only to record and queue it.
        with desk.uow.read_only() as reader:
            if reader.sla.digest_sent(recipient.key, day):
                continue
            digest = build_digest(reader, settings, desk.policy, recipient, day, now, late)
        with desk.uow() as uow:
            repo = uow.sla
            run = DigestRun(recipient=recipient.key, day=day, sent_at=now, late=late)
            if not repo.add_once(run):
                continue  # sent meanwhile, or another process is sending it
            ctx = system_ctx(desk, uow, now)
            params = dict(digest.params)
            if recipient.person:
                row = notify.dm(ctx, uow.people.by_key(recipient.person), None, digest.key, params, include_actor=True)
            else:
                row = notify.channel_post(ctx, recipient.platform, recipient.chat, None, digest.key, params)
            if row is None:
                log.warning("digest for %s: %s has no identity on an enabled platform; skipped today",
                            recipient.key, recipient.person)
            else:
                uow.flush()
                run.outbox_id = row.id
            uow.commit()
        if ctx.wrote_outbox:
            desk.on_commit()
        sent.append((recipient.key, day))
    return sent
