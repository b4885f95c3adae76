"""Slack rendering: mrkdwn escaping, the ticket card in Block Kit, notices, DMs and command replies.

This is the only place Slack output is escaped. User text is escaped for mrkdwn (`&`, `<`, `>`),
so it can never form a link or a `<@U…>` / `<!channel>` mention; bare `@channel` / `@here` /
`@everyone` are broken with an invisible joiner as well. Long text is cut within Slack's limits.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot import render_plain
from bot.render_plain import PRIORITY_ICON, STATUS_ICON
from handlers.lifecycle import SETTABLE_STATUSES, allowed_from
from handlers.replies import Reply, Text
from handlers.texts import render
from handlers.views import PersonView, TicketView

# Slack's limits (https://api.slack.com/reference/block-kit/blocks).
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
CONTEXT_LIMIT = 3000
MESSAGE_LIMIT = 40000
NOTICE_LIMIT = 3000
MAX_BLOCKS = 50

# Block/action ids the card's interactive elements carry (actions.py listens for them).
CLAIM = "ticket_claim"
ACK = "ticket_ack"
# SLA alerts someone must take: they carry an Acknowledge button (handlers/sla sends `number`).
ACK_KEYS = frozenset({"sla_breach_channel", "sla_breach_dm", "sla_escalation_channel", "sla_escalation_dm"})
ASSIGN = "ticket_assign"
STATUS = "ticket_status"
CARD_BLOCK = "ticket"

_PINGS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_PARTIAL_TAIL = re.compile(r"(&[a-z]{0,4}|<[^>]*)$")
_JOINER = "\u2060"
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


def text_for(key: str, **params: Any) -> str:
    """A user-facing sentence from handlers/texts.py (unescaped: for plain_text fields)."""
    return render(key, params)


def escape(text: object) -> str:
    """User text → mrkdwn that shows exactly as typed and can ping nobody."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PINGS.sub(lambda m: "@" + _JOINER + m.group(1), s)


def cut(text: str, limit: int, more: str = "…") -> str:
    """Shorten mrkdwn to `limit` characters, ending with `more`, never inside an entity or a link."""
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - len(more))]
    head = _PARTIAL_TAIL.sub("", head)
    return head.rstrip() + more


def more_for(number: int) -> str:
    return text_for("cut_more", number=number)


def mrkdwn(t: Text) -> str:
    """A core sentence as mrkdwn: the template and its (user-supplied) params all escaped."""
    return escape(render(t.key, t.params))


def plain(t: Text) -> str:
    """A core sentence as plain text (modal errors, plain_text elements)."""
    return render(t.key, t.params)


def mention(person: PersonView | None) -> str:
    """A native mention for people with a Slack id (we mean to name them), else the escaped name."""
    if person is None:
        return "unassigned"
    uid = person.ids.get("slack")
    return f"<@{uid}>" if uid else escape(person.name)


def slack_date(at: datetime | None) -> str:
    """A time Slack shows in each reader's own zone (plain UTC as the fallback)."""
    if at is None:
        return "—"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{render_plain.fmt_time(at)}>"


def headline(view: TicketView) -> str:
    """The card's first line: icon, number, title in bold; status, priority, rebound flag."""
    rebound = f" · ⚠ *REBOUND ×{view.reopen_count}*" if view.rebound else ""
    title = cut(escape(view.title), 600)
    return (f"{STATUS_ICON.get(view.status, '')} *{view.ref} {title}*\n"
            f"*{view.status.upper()}* · {PRIORITY_ICON.get(view.priority, '')} {view.priority}{rebound}")


def fallback_text(view: TicketView) -> str:
    """The message `text` (notifications, screen readers): the plain headline, escaped."""
    return cut(escape(render_plain.headline(view)), SECTION_LIMIT)


def _plain(value: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": value[:limit], "emoji": True}


def status_option(status: str) -> dict[str, Any]:
    return {"text": _plain(f"{STATUS_ICON.get(status, '')} {status}"), "value": status}


def card_actions(view: TicketView) -> dict[str, Any]:
    """Claim, Assign (user picker) and Status (the statuses reachable from here) on one row."""
    elements: list[dict[str, Any]] = []
    if view.status not in ("resolved", "closed"):
        elements.append({"type": "button", "action_id": CLAIM, "value": str(view.number), "style": "primary",
                         "text": _plain(text_for("button_claim"))})
    assign: dict[str, Any] = {"type": "users_select", "action_id": ASSIGN,
                              "placeholder": _plain(text_for("slack_assign_placeholder"))}
    if view.assignee and view.assignee.ids.get("slack"):
        assign["initial_user"] = view.assignee.ids["slack"]
    elements.append(assign)
    reachable = [s for s in SETTABLE_STATUSES if s == view.status or s in allowed_from(view.status)]
    status: dict[str, Any] = {"type": "static_select", "action_id": STATUS,
                              "placeholder": _plain(text_for("slack_status_placeholder")),
                              "options": [status_option(s) for s in reachable]}
    if view.status in reachable:
        status["initial_option"] = status_option(view.status)
    elements.append(status)
    return {"type": "actions", "block_id": f"{CARD_BLOCK}:{view.number}", "elements": elements}


def card_blocks(view: TicketView) -> list[dict[str, Any]]:
    """The ticket card, mirroring render_plain.card: headline, order facts, people, SLA, buttons."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": headline(view)}}]
    fields = [{"type": "mrkdwn", "text": cut(f"*{escape(k)}*\n{escape(v)}", FIELD_LIMIT, more_for(view.number))}
              for k, v in render_plain.card_fields(view)]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    people = (f"Group: {escape(view.group_name)} · Assignee: {mention(view.assignee)} · "
              f"Reporter: {mention(view.reporter)}")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(people, CONTEXT_LIMIT)}]})
    if view.clocks:
        lines = [f"SLA {escape(c.name)}: {escape(c.state)}" + (f" (due {slack_date(c.due)})" if c.due else "")
                 for c in view.clocks]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut("\n".join(lines),
                                                                                       CONTEXT_LIMIT)}]})
    blocks.append(card_actions(view))
    return blocks[:MAX_BLOCKS]


def card_message(view: TicketView) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments for the card."""
    return {"text": fallback_text(view), "blocks": card_blocks(view)}


def notice_text(t: Text, number: int | None = None) -> str:
    """A one-line notice in the card's thread (long comments cut with a pointer to the ticket)."""
    more = more_for(number) if number else "…"
    return cut(mrkdwn(t), NOTICE_LIMIT, more)


def alert_message(t: Text, text: str) -> dict[str, Any]:
    """A message; SLA breach alerts get an Acknowledge button that sends `/ticket ack N`."""
    number = t.params.get("number")
    if t.key not in ACK_KEYS or not str(number or "").isdigit():
        return {"text": text}
    return {"text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}},
        {"type": "actions", "block_id": f"{CARD_BLOCK}:{number}:ack", "elements": [
            {"type": "button", "action_id": ACK, "value": str(number), "style": "danger",
             "text": {"type": "plain_text", "text": text_for("button_ack")}}]},
    ]}


def dm_text(t: Text, link: str | None = None, number: int | None = None) -> str:
    """A direct message: the ticket reference links to its card, a channel id reads as the channel."""
    body = notice_text(t, number)
    params = t.params if isinstance(t.params, Mapping) else {}
    ref, chat = str(params.get("ref") or ""), str(params.get("chat") or "")
    if link and ref:
        body = body.replace(escape(ref), f"<{link}|{escape(ref)}>", 1)
    if _CHANNEL_ID.fullmatch(chat):
        body = body.replace(chat, f"<#{chat}>", 1)
    return body


def ticket_line(view: TicketView) -> str:
    assignee = escape(view.assignee.name) if view.assignee else "unassigned"
    return f"• {STATUS_ICON.get(view.status, '')} *{view.ref}* [{view.status}] {escape(view.title)} — {assignee}"


def detail_text(view: TicketView) -> str:
    """`/ticket show N`: the plain detail layout, escaped, headline in bold."""
    first, _, rest = render_plain.detail(view).partition("\n")
    return f"*{escape(first)}*\n{escape(rest)}" if rest else f"*{escape(first)}*"


def reply_text(reply: Reply) -> str:
    """A command's immediate answer as mrkdwn (ephemeral unless the core says otherwise)."""
    parts = [mrkdwn(t) for t in reply.texts]
    if reply.ticket and reply.detail:
        parts.append(detail_text(reply.ticket))
    parts += [ticket_line(t) for t in reply.tickets]
    return cut("\n".join(parts), MESSAGE_LIMIT) or "…"
