"""Every sentence a user sees, in one place. Params are raw user data; renderers escape them."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

EN: dict[str, str] = {
    # replies
    "created": "Created {ref}: {title} (group: {group}).",
    "created_assigned": "Created {ref}: {title} (group: {group}, assigned to {assignee}).",
    "assigned": "{ref} is now assigned to {assignee}.",
    "claimed": "You took {ref}.",
    "status_changed": "{ref} is now {status}.",
    "reopened": "{ref} is reopened — rebound #{count}.",
    "priority_changed": "{ref} priority is now {priority}.",
    "commented": "Comment added to {ref}.",
    "watching": "You are watching {ref}.",
    "unwatched": "You no longer watch {ref}.",
    "fields_updated": "{ref} updated: {fields}.",
    "fields_unchanged": "{ref} already had those values; nothing changed.",
    "files_suffix": "(+{count} file(s))",
    "search_results": "{count} ticket(s) match '{query}':",
    "search_none": "No ticket matches '{query}'.",
    "mine": "Your open tickets ({count}):",
    "mine_none": "You have no open tickets.",
    "duplicate": "Already done.",
    "help": (
        "Afterdesk — tickets for after-sales cases.\n"
        "/ticket <summary> [order:… customer:… handle:… address:… category:… product:… priority:… @assignee] — new ticket\n"
        "/ticket show N · assign N @user · claim N · status N <open|waiting|resolved|closed> [note]\n"
        "/ticket comment N <text> · priority N <urgent|high|normal|low> · watch N · unwatch N\n"
        "/ticket set N tracking:… return:… rma:… compensation:… address:… · search <text|order|handle> · mine · help\n"
        "/ticket remind N <when> [text] — a follow-up for you · remind N off · reminders [N] · ack N — acknowledge an SLA breach\n"
        "Quote values with spaces: customer:\"Li Lei\". Chinese keys work too: 订单: 客户: 旺旺: 地址:"
    ),
    # errors
    "err_no_summary": "A ticket needs a summary. Try: /ticket Blue screen after boot order:12345 customer:\"Li Lei\"",
    "err_quote": "There is an unclosed quote in your command ({detail}). Close it and try again.",
    "err_unknown_field": "Unknown field '{field}:' — did you mean '{suggestion}:'? Fields: {fields}.",
    "err_empty_field": "'{field}:' needs a value, e.g. {field}:{example}.",
    "err_duplicate_field": "'{field}:' is given twice; keep one.",
    "err_two_assignees": "Only one assignee per ticket: you mentioned {first} and {second}.",
    "err_need_number": "'/ticket {verb}' needs a ticket number, e.g. /ticket {verb} 1001{after}.",
    "err_bad_number": "'{value}' is not a ticket number — use e.g. /ticket {verb} 1001.",
    "err_need_text": "'/ticket {verb} N' needs {what}, e.g. /ticket {verb} 1001 {example}.",
    "err_unknown_status": "Unknown status '{value}' — use one of: {allowed}.",
    "err_unknown_priority": "Unknown priority '{value}' — use one of: {allowed}.",
    "err_unknown_category": "Unknown category '{value}' — use one of: {allowed}.",
    "err_unknown_product": "Unknown product '{value}' — use one of: {allowed}.",
    "err_unknown_group": "Unknown group '{value}' — use one of: {allowed}.",
    "err_bad_amount": "'{value}' is not an amount — use e.g. compensation:25.50",
    "err_settable": "'{field}' cannot be set that way — settable fields: {fields}.",
    "err_no_ticket": "There is no ticket #{number}.",
    "err_unknown_person": "I don't know {mention}. Mention someone who has used Afterdesk, or a person key from the config.",
    "err_same_status": "{ref} is already {status}.",
    "err_transition": "{ref} is {status}; from {status} it can go to: {allowed}.",
    "err_same_priority": "{ref} already has priority {priority}.",
    "err_claimed_by": "{ref} is already taken by {assignee}. To take it over: /ticket assign {number} @me",
    "err_already_assigned": "{ref} is already assigned to {assignee}.",
    "err_not_watching": "You are not watching {ref}.",
    "err_already_watching": "You already watch {ref}.",
    "err_empty_comment": "A comment needs some text or a file.",
    "err_too_long": "'{field}' is too long ({length} characters; at most {limit}).",
    "err_search_empty": "Search for what? e.g. /ticket search 12345 (an order number, a shop handle or words).",
    "err_unknown_command": "I don't understand '{verb}'. Type /ticket help for the commands.",
    "err_not_member": ("You are not on this desk yet, so I can't show or change tickets. Ask an admin to add you "
                       "under [people] in the config (your {platform} id is {user_id})."),
    "err_internal": "Something went wrong on our side and nothing was changed. Please try again in a minute.",
    # thread notices and direct messages
    "n_assigned": "{actor} assigned {ref} to {assignee}.",
    "n_claimed": "{actor} took {ref}.",
    "n_status": "{actor} set {ref} to {status}.",
    "n_status_note": "{actor} set {ref} to {status}: {note}",
    "n_reopened": "{actor} reopened {ref} — rebound #{count}.",
    "n_priority": "{actor} changed {ref} priority from {old} to {new}.",
    "n_comment": "{actor} on {ref}: {body}",
    "n_fields": "{actor} updated {ref}: {fields}.",
    "n_cannot_post": "I could not post {ref} in {chat}: {reason}. Invite me to that chat (e.g. /invite @Afterdesk), then change the ticket again to post its card.",
    "dm_assigned": "{actor} assigned you {ref}: {title}",
    "dm_status": "{ref} ({title}) is now {status} — by {actor}.",
    "dm_comment": "{actor} commented on {ref} ({title}): {body}",
    # chat furniture: buttons, forms, the pointer after a cut
    "cut_more": "… see /ticket show {number}",
    "button_claim": "Claim",
    "button_ack": "Acknowledge",
    "slack_assign_placeholder": "Assign…",
    "slack_status_placeholder": "Status…",
    "slack_form_title": "New ticket",
    "slack_form_submit": "Create",
    "slack_form_cancel": "Cancel",
    "slack_form_summary": "Summary",
    "slack_form_description": "Description",
    "slack_form_order_no": "Order number",
    "slack_form_customer_name": "Customer name",
    "slack_form_customer_handle": "Shop handle",
    "slack_form_shipping_address": "Shipping address",
    "slack_form_category": "Category",
    "slack_form_product": "Product",
    "slack_form_priority": "Priority",
    "slack_form_assignee": "Assignee",
    "slack_form_group": "Group",
    "slack_form_group_hint": "Leave empty to route by category, product and keywords.",
    # Telegram: the guided form (/ticket alone), buttons, hints, the command menu
    # the guided form (/ticket alone)
    "tg_form_title": "New ticket (1/8) — what is the problem? A short summary. (/cancel stops)",
    "tg_form_order_no": "(2/8) Order number? Type it, or skip.",
    "tg_form_customer_name": "(3/8) Customer's name? Type it, or skip.",
    "tg_form_customer_handle": "(4/8) Customer's shop handle (旺旺 / nickname)? Type it, or skip.",
    "tg_form_shipping_address": "(5/8) Shipping address? Type it, or skip.",
    "tg_form_category": "(6/8) Category? Pick one, type it, or skip.",
    "tg_form_product": "(7/8) Product? Type it, or skip.",
    "tg_form_priority": "(8/8) Priority? Pick one, or skip for normal.",
    "tg_form_need_title": "A ticket needs a summary, it cannot be skipped.",
    "tg_form_bad_choice": "'{value}' is not one of: {allowed}.",
    "tg_form_too_long": "That is too long ({length} characters; at most {limit}).",
    "tg_form_cancelled": "Cancelled — no ticket was created.",
    "tg_form_none": "There is no form to cancel.",
    "tg_form_not_yours": "This form belongs to someone else.",
    "tg_form_gone": "This form is closed. Type /ticket to start a new one.",
    "tg_form_skip": "Skip",
    # buttons on the card (keep them short: phones show about 3 per row)
    "tg_btn_claim": "🙋 Claim",
    "tg_btn_open": "🔧 Open",
    "tg_btn_reopen": "↩ Reopen",
    "tg_btn_waiting": "⏳ Waiting",
    "tg_btn_resolved": "✅ Resolve",
    "tg_btn_closed": "🔒 Close",
    "tg_btn_priority": "{icon} {priority}",
    "tg_button_gone": "This button is no longer valid.",
    # hints and greetings
    "tg_start": ("Hi {name}! You will get your ticket notifications here. Your Telegram id is {id} "
                 "(for the desk's config). Type /help for the commands."),
    "tg_chat_id": ("This chat is \"{title}\", id {chat}. To get a group's tickets here, set its "
                   "channels.telegram = \"{chat}\" in the desk's config."),
    "tg_private_hint": "Type /ticket to open a ticket, or /help for the commands.",
    "tg_dm_fallback": "{mention}: {message}",
    "tg_dm_fallback_hint": "(Open a private chat with @{bot} and press Start to get these privately.)",
    "tg_cut": "… /ticket show {number}",
    "tg_cut_plain": "… (cut: Telegram allows {limit} characters)",
    "tg_more_comments": "… {count} earlier comment(s) not shown",
    # the command menu (setMyCommands)
    "tg_cmd_ticket": "Open a ticket, or manage one: /ticket help",
    "tg_cmd_new": "Open a ticket: /new <summary> order:… customer:…",
    "tg_cmd_show": "Show a ticket: /show 1001",
    "tg_cmd_mine": "Your open tickets",
    "tg_cmd_cancel": "Stop the ticket form",
    "tg_cmd_help": "How to use Afterdesk",
}

LOCALES: dict[str, dict[str, str]] = {"en": EN}


def render(key: str, params: Mapping[str, Any], escape: Callable[[str], str] = str, locale: str = "en") -> str:
    """Fill a template; every parameter passes through the renderer's escape function."""
    template = LOCALES.get(locale, EN).get(key) or EN[key]
    return template.format_map({k: escape(str(v)) for k, v in params.items()})
