"""Every SLA sentence (keys prefixed sla_), merged into handlers.texts.EN at import."""
from __future__ import annotations

from handlers.texts import EN

SLA_EN: dict[str, str] = {
    # names used inside other sentences
    "sla_clock_first_response": "first response",
    "sla_clock_resolution": "resolution",
    "sla_what_warn": "reminder",
    "sla_what_breach": "breach alert",
    "sla_what_escalate": "escalation",
    "sla_what_unclaimed": "alert",
    "sla_nobody": "nobody",
    "sla_late": " (late: meant for {due} — Afterdesk was not running then)",
    # replies
    "sla_acked": "Acknowledged: escalations for {ref} ({clocks}) stop. They start again only if it misses a new deadline.",
    "sla_remind_set": "I'll remind you about {ref} on {when}.",
    "sla_remind_set_note": "I'll remind you about {ref} on {when}: {note}",
    "sla_followups_cancelled": "Cancelled your {count} follow-up(s) on {ref}.",
    "sla_followups_list": "Your follow-ups ({count}) — cancel those of a ticket with /ticket remind N off:",
    "sla_followups_line": "{ref} {title} — {when}{note}",
    "sla_followups_more": "(the {count} soonest are shown)",
    "sla_followups_none": "You have no follow-ups waiting. Set one with /ticket remind N 7d [text].",
    "sla_followups_none_on": "You have no follow-ups waiting on {ref}. Set one with /ticket remind {number} 7d [text].",
    # errors
    "sla_err_off": "SLA features are off on this desk — add an [sla] section to the config to use /ticket {verb}.",
    "sla_err_nothing_to_ack": "{ref} has no breached SLA clock to acknowledge.",
    "sla_err_already_acked": "{ref}'s breach was already acknowledged by {by} ({at}).",
    "sla_err_remind_usage": ("'/ticket remind N' needs a time, e.g. /ticket remind 1001 7d check the blue screen has not "
                             "come back. /ticket reminders lists yours; /ticket remind N off cancels them."),
    "sla_err_when": "'{value}' is not a time I understand — use e.g. 30m, 7d, tomorrow 10:00, fri 15:00 or 2026-12-01 09:00.",
    "sla_err_clock_time": "'{value}' is not a time of day — use HH:MM, e.g. 10:00.",
    "sla_err_date": "'{value}' is not a date — use YYYY-MM-DD, e.g. 2026-12-01.",
    "sla_err_when_past": "{when} has already passed — pick a later time.",
    "sla_err_when_far": "{when} is more than a year away — pick a time within a year.",
    # reminders, alerts, escalations
    "sla_warn_dm": "⏰ {ref} ({title}): the {clock} target is due {due} — {left} left.{late}",
    "sla_warn_notice": "⏰ The {clock} target of {ref} is due {due} ({left} left) — assignee: {assignee}.{late}",
    "sla_breach_channel": ("🚨 {ref} ({title}) missed its {clock} target (due {due}). Group: {group} · assignee: {assignee}. "
                           "Press Acknowledge or type /ticket ack {number}.{late}"),
    "sla_breach_dm": ("🚨 {ref} ({title}) missed its {clock} target (due {due}). Assignee: {assignee}. "
                      "Press Acknowledge or type /ticket ack {number}.{late}"),
    "sla_breach_notice": "🚨 {ref} missed its {clock} target (due {due}); the managers are alerted.{late}",
    "sla_escalation_channel": ("🚨 Escalation {count}: {ref} ({title}) is still past its {clock} target — due {due}, "
                               "{over} ago. Assignee: {assignee}. Press Acknowledge or type /ticket ack {number}.{late}"),
    "sla_escalation_dm": ("🚨 Escalation {count}: {ref} ({title}) is still past its {clock} target — due {due}, "
                          "{over} ago. Assignee: {assignee}. Press Acknowledge or type /ticket ack {number}.{late}"),
    "sla_unclaimed_channel": ("👋 {ref} ({title}) has waited {age} and nobody has taken it. "
                              "Take it with /ticket claim {number}.{late}"),
    "sla_followup_dm": "🔔 Follow-up on {ref} ({title}, now {status}): {note}{late}",
    "sla_followup_notice": "🔔 Follow-up for {person} on {ref}: {note}{late}",
    "sla_followup_default": "you asked me to remind you about this ticket.",
    "sla_followup_set_notice": "{actor} will follow up on {ref} on {when}.",
    "sla_followup_cancel_notice": "{actor} cancelled their follow-up on {ref}.",
    "sla_auto_closed": "🔒 {ref} closed automatically: resolved {age} ago with no reply from the customer.",
    "sla_ack_notice": "🟡 {actor} acknowledged the {clocks} breach of {ref}; escalations stop.",
    # edits of earlier alerts whose condition cleared
    "sla_cleared_first_response": "✅ {ref}: first response given by {by} ({at}) — this {what} is cleared.",
    "sla_cleared_resolved": "✅ {ref} is {status} ({at}) — this {what} is cleared.",
    "sla_cleared_claimed": "✅ {ref} was taken by {by} ({at}) — this {what} is cleared.",
    "sla_cleared_moved": "↪ {ref}: the {clock} target is now due {due} — this {what} no longer applies.",
    "sla_cleared_paused": "⏸ {ref}: the {clock} clock is paused while {status} — this {what} no longer applies.",
    "sla_cleared_off": "↪ {ref}: no {clock} target applies any more — this {what} no longer applies.",
    "sla_acked_edit": ("🟡 {ref} ({title}): the {clock} breach (due {due}) was acknowledged by {by} ({at}) — "
                       "escalations stopped."),
    # the daily digest
    "sla_digest": "{body}",
    "sla_digest_empty": ("📊 Afterdesk digest for {date}: a quiet day — nothing was created, resolved or reopened on "
                         "{day}, and no ticket is open.{late}"),
    "sla_digest_head": "📊 Afterdesk digest for {date} ({tz}){late}",
    "sla_digest_late": " — late: Afterdesk was not running at {at}",
    "sla_digest_day": "{day}: {created} created · {resolved} resolved · {reopened} reopened",
    "sla_digest_backlog": "Open now: {total} — by status: {by_status}",
    "sla_digest_backlog_groups": "  by group: {by_group}",
    "sla_digest_backlog_assignees": "  by assignee: {by_assignee}",
    "sla_digest_attainment": ("SLA attained — first response: {fr_day} on {day}, {fr_week} over 7 days · "
                              "resolution: {res_day} on {day}, {res_week} over 7 days"),
    "sla_digest_rate": "{pct} % ({met}/{total})",
    "sla_digest_no_rate": "n/a",
    "sla_digest_breached": "Breached ({count}):",
    "sla_digest_due_today": "Due today ({count}):",
    "sla_digest_item_clock": "  {ref} {title} — {clock} due {due} · {assignee}",
    "sla_digest_oldest": "Oldest open:",
    "sla_digest_item_age": "  {ref} {title} — {age} old · {status} · {assignee}",
    "sla_digest_top": "Top categories (7 days): {categories} · top products: {products}",
    "sla_digest_none": "none",
    "sla_digest_more": "  … and {count} more",
    "sla_digest_unassigned": "unassigned",
}

EN.update(SLA_EN)
