"""Telegram HTML for cards, notices and command answers, and the card's inline keyboard.

The layout mirrors bot/render_plain.py. This is the only Telegram module that escapes user text;
every message is cut to Telegram's limits (4096 characters, 1024 for captions) with a pointer.
"""
from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render_plain import PRIORITY_ICON, STATUS_ICON, body_lines, fmt_time
from bot.telegram.wording import esc, plain, say
from handlers.lifecycle import PRIORITIES, allowed_from, is_reopen
from handlers.replies import Reply, Text
from handlers.views import TicketView

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
# Longest value shown per card field / comment: the full text is one /ticket show away.
FIELD_SHOWN = 300
COMMENT_SHOWN = 600
DESCRIPTION_SHOWN = 1500
_TAG = re.compile(r"<[^>]+>")


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); measured on the HTML, so never too small."""
    return len(text.encode("utf-16-le")) // 2


def shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _plain_cut(fragment: str, room: int) -> str:
    """Cut one HTML fragment safely: drop its tags, cut the text, escape again."""
    text = html.unescape(_TAG.sub("", fragment))
    while room > 0 and tg_len(esc(text)) > room:
        text = text[: max(0, min(len(text) - 1, room - 1))]
    return esc(text)


def fit(lines: list[str], tail: str, limit: int = MAX_TEXT) -> str:
    """Join whole lines (each balanced HTML); if too long, keep what fits and end with `tail`."""
    full = "\n".join(lines)
    if tg_len(full) <= limit:
        return full
    room = limit - tg_len(tail) - 1
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = tg_len(line) + (1 if kept else 0)
        if used + cost > room:
            if not kept:  # even the first line is too long: cut inside it
                kept.append(_plain_cut(line, room))
            break
        kept.append(line)
        used += cost
    return "\n".join(kept + [tail])


def cut_pointer(number: int | None, limit: int = MAX_TEXT) -> str:
    return say("tg_cut", {"number": number}) if number else say("tg_cut_plain", {"limit": limit})


def text_html(t: Text, number: int | None = None, limit: int = MAX_TEXT) -> str:
    """A core sentence as HTML; an over-long one has its longest parameter cut, then a pointer."""
    params = {k: str(v) for k, v in t.params.items()}
    body = say(t.key, params)
    if tg_len(body) <= limit:
        return body
    tail = cut_pointer(number, limit)
    room = limit - tg_len(tail) - 1
    while tg_len(body) > room:
        longest = max(params, key=lambda k: len(params[k]), default=None)
        if longest is None or len(params[longest]) <= 1:
            return fit([body], tail, limit)
        full = params[longest]
        low, high = 0, len(full) - 1  # the longest prefix that fits (escaping makes lengths uneven)
        while low < high:
            mid = (low + high + 1) // 2
            if tg_len(say(t.key, {**params, longest: full[:mid]})) <= room:
                low = mid
            else:
                high = mid - 1
        params[longest] = full[:low].rstrip()
        body = say(t.key, params)
    return body + "\n" + tail


def mention(name: str, user_id: str) -> str:
    """A mention that notifies the user even without a @username."""
    return f'<a href="tg://user?id={int(user_id)}">{esc(name)}</a>'


def headline(view: TicketView) -> str:
    rebound = f" · ⚠ REBOUND ×{view.reopen_count}" if view.rebound else ""
    return (f"{STATUS_ICON.get(view.status, '')} <b>{esc(view.ref)} {esc(shorten(view.title, FIELD_SHOWN))}</b>"
            f" — {esc(view.status.upper())} · {PRIORITY_ICON.get(view.priority, '')} {esc(view.priority)}{rebound}")


def card_lines(view: TicketView) -> list[str]:
    return [headline(view), *body_lines(view, esc, lambda s: f"<b>{s}</b>", lambda v: shorten(v, FIELD_SHOWN))]


def card_html(view: TicketView) -> str:
    """The ticket card: headline, order facts, people, SLA clocks."""
    return fit(card_lines(view), cut_pointer(view.number))


def _button(label: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_DATA, data
    return InlineKeyboardButton(label, callback_data=data)


def keyboard(view: TicketView) -> InlineKeyboardMarkup:
    """Claim, the statuses the ticket may move to, and the other priorities (data like "s:1001:resolved")."""
    n = view.number
    rows: list[list[InlineKeyboardButton]] = []
    if view.status not in ("resolved", "closed"):
        rows.append([_button(plain("tg_btn_claim"), f"c:{n}")])
    statuses = []
    for status in allowed_from(view.status):
        label = plain("tg_btn_reopen") if is_reopen(view.status, status) else plain(f"tg_btn_{status}")
        statuses.append(_button(label, f"s:{n}:{status}"))
    rows.append(statuses)
    if view.status != "closed":
        rows.append([_button(plain("tg_btn_priority", icon=PRIORITY_ICON[p], priority=p), f"p:{n}:{p}")
                     for p in PRIORITIES if p != view.priority])
    return InlineKeyboardMarkup(rows)


def _comment_lines(view: TicketView) -> list[str]:
    out = []
    for c in view.comments:
        mark = " (deleted)" if c.deleted else " (edited)" if c.edited else ""
        body = "…" if c.deleted else shorten(c.body, COMMENT_SHOWN)
        out.append(f"  {fmt_time(c.at, view.timezone)} <b>{esc(c.author)}</b>{mark}: {esc(body)}")
    return out


def _audit_lines(view: TicketView) -> list[str]:
    out = []
    for e in view.events:
        name = "" if e.field == e.action else f" {e.field}"
        change = f"{name}: {e.old or '∅'} → {e.new or '∅'}" if e.field else ""
        extra = f" ({e.detail})" if e.detail else ""
        out.append(f"  {fmt_time(e.at, view.timezone)} {esc(e.actor)}: {esc(shorten(f'{e.action}{change}{extra}', FIELD_SHOWN))}")
    return out


def detail_lines(view: TicketView, limit: int = MAX_TEXT) -> list[str]:
    """Card, description, files, comments and audit trail; when too long the audit trail goes first,
    then the oldest comments."""
    head = card_lines(view)
    if view.description:
        head += ["", esc(shorten(view.description, DESCRIPTION_SHOWN))]
    if view.attachments:
        head += ["", "Files: " + esc(", ".join(a.name or a.file_id for a in view.attachments))]
    comments = _comment_lines(view)
    audit = _audit_lines(view)

    def assemble(comment_part: list[str], audit_part: list[str]) -> list[str]:
        lines = list(head)
        if comment_part:
            lines += ["", "<b>Comments:</b>", *comment_part]
        if audit_part:
            lines += ["", "<b>Audit trail:</b>", *audit_part]
        return lines

    lines = assemble(comments, audit)
    if tg_len("\n".join(lines)) <= limit:
        return lines
    dropped = 0
    while comments and tg_len("\n".join(assemble(comments, []))) > limit - 80:
        comments, dropped = comments[1:], dropped + 1
    if dropped:
        comments = [say("tg_more_comments", {"count": dropped})] + comments
    return assemble(comments, [])


def reply_html(reply: Reply, limit: int = MAX_TEXT) -> str:
    """A command's answer (reply texts, a ticket's detail, a list of tickets) as HTML."""
    lines = [say(t.key, dict(t.params)) for t in reply.texts]
    if reply.ticket and reply.detail:
        lines += detail_lines(reply.ticket, limit)
    for t in reply.tickets:
        assignee = t.assignee.name if t.assignee else "unassigned"
        lines.append(f"  {esc(t.ref)} [{esc(t.status)}] {esc(shorten(t.title, 120))} — {esc(assignee)}")
    number = reply.ticket.number if reply.ticket and not reply.detail else None
    return fit(lines, cut_pointer(number, limit), limit)
