"""Plain-text rendering (console, demo, CLI): the reference layout the chat renderers follow."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from handlers.replies import Reply, Text
from handlers.sla.format import at as local_time
from handlers.texts import render
from handlers.views import TicketView

STATUS_ICON = {"new": "🆕", "open": "🔧", "waiting": "⏳", "resolved": "✅", "closed": "🔒"}
PRIORITY_ICON = {"urgent": "🔴", "high": "🟠", "normal": "🟢", "low": "⚪"}


def render_text(t: Text) -> str:
    return render(t.key, t.params)


def fmt_time(at: datetime | None, tz: str = "UTC") -> str:
    """'2026-11-02 13:00 CST': an instant in the desk's zone (the view's `timezone`)."""
    return local_time(at, tz)


def card_fields(view: TicketView) -> list[tuple[str, str]]:
    """The order facts shown on every card, in reading order; empty ones left out."""
    pairs = [
        ("Order", view.order_no), ("Customer", view.customer_name), ("Shop handle", view.customer_handle),
        ("Category", view.category), ("Product", view.product), ("Ship to", view.shipping_address),
        ("Replacement", view.replacement_tracking), ("Return", view.return_tracking), ("RMA", view.rma),
        ("Compensation", view.compensation),
    ]
    return [(k, v) for k, v in pairs if v]


def headline(view: TicketView) -> str:
    rebound = f" · ⚠ REBOUND ×{view.reopen_count}" if view.rebound else ""
    return (f"{STATUS_ICON.get(view.status, '')} {view.ref} {view.title} — {view.status.upper()} · "
            f"{PRIORITY_ICON.get(view.priority, '')} {view.priority}{rebound}")


def body_lines(view: TicketView, esc: Callable[[str], str] = str, strong: Callable[[str], str] = str,
               cut: Callable[[str], str] = str) -> list[str]:
    """The card under its headline; chat renderers pass their escaping and emphasis."""
    lines = [f"{strong(esc(k) + ':')} {esc(cut(v))}" for k, v in card_fields(view)]
    assignee = view.assignee.name if view.assignee else "unassigned"
    lines.append(f"Group: {esc(view.group_name)} · Assignee: {esc(assignee)} · Reporter: {esc(view.reporter.name)}")
    for clock in view.clocks:
        due = f" (due {fmt_time(clock.due, view.timezone)})" if clock.due else ""
        lines.append(f"SLA {esc(clock.name)}: {esc(clock.state)}{esc(due)}")
    return lines


def card(view: TicketView) -> str:
    return "\n".join([headline(view), *body_lines(view)])


def detail(view: TicketView) -> str:
    lines = [card(view)]
    if view.description:
        lines += ["", view.description]
    if view.attachments:
        lines += ["", "Files: " + ", ".join(a.name or a.file_id for a in view.attachments)]
    if view.comments:
        lines += ["", "Comments:"]
        for c in view.comments:
            mark = " (deleted)" if c.deleted else " (edited)" if c.edited else ""
            body = "…" if c.deleted else c.body
            lines.append(f"  {fmt_time(c.at, view.timezone)} {c.author}{mark}: {body}")
    if view.events:
        lines += ["", "Audit trail:"]
        for e in view.events:
            name = "" if e.field == e.action else f" {e.field}"
            change = f"{name}: {e.old or '∅'} → {e.new or '∅'}" if e.field else ""
            extra = f" ({e.detail})" if e.detail else ""
            lines.append(f"  {fmt_time(e.at, view.timezone)} {e.actor}: {e.action}{change}{extra}")
    return "\n".join(lines)


def reply(r: Reply) -> str:
    """A command's answer as plain text."""
    parts = [render_text(t) for t in r.texts]
    if r.ticket and r.detail:
        parts.append(detail(r.ticket))
    for t in r.tickets:
        assignee = t.assignee.name if t.assignee else "unassigned"
        parts.append(f"  {t.ref} [{t.status}] {t.title} — {assignee}")
    return "\n".join(parts)
