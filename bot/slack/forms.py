"""The "New ticket" modal: building it (empty or pre-filled), reading it back, and field errors.

Checks that need no database (summary present, lengths) run here so errors show on the field at
once; the core's own refusals (unknown person, category, …) are mapped back to their field too.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.config import Config
from bot.slack.render import text_for
from bot.slack.translate import PLATFORM, vouched
from handlers.commands import Actor, ChatRef, CreateTicket, FileRef
from handlers.lifecycle import PRIORITIES
from handlers.replies import Reply
from handlers.texts import render
from handlers.tickets import LIMITS

CALLBACK = "ticket_form"
ACTION = "value"
# Slack caps: plain_text_input 3000 chars, private_metadata 3000, select options 100.
INPUT_MAX = 3000
META_MAX = 3000
MAX_OPTIONS = 100
TEXT_FIELDS = ("title", "description", "order_no", "customer_name", "customer_handle", "shipping_address")
MULTILINE = ("description", "shipping_address")
# A core refusal → the block whose field caused it.
ERROR_FIELDS = {"err_no_summary": "title", "err_unknown_category": "category", "err_unknown_product": "product",
                "err_unknown_priority": "priority", "err_unknown_group": "group", "err_unknown_person": "assignee",
                "err_two_assignees": "assignee", "err_already_assigned": "assignee"}


def _label(field: str) -> str:
    return text_for("slack_form_summary" if field == "title" else f"slack_form_{field}")


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value[:150]}


def _input(field: str, element: dict[str, Any], optional: bool = True, hint: str = "") -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": field, "optional": optional,
                             "label": _plain(_label(field), 2000), "element": {**element, "action_id": ACTION}}
    if hint:
        block["hint"] = _plain(hint, 2000)
    return block


def _text_input(field: str, prefill: Mapping[str, str]) -> dict[str, Any]:
    limit = min(LIMITS.get(field, INPUT_MAX), INPUT_MAX)
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": field in MULTILINE, "max_length": limit}
    if prefill.get(field):
        element["initial_value"] = prefill[field][:limit]
    return _input(field, element, optional=field != "title")


def _select(field: str, options: list[tuple[str, str]], prefill: Mapping[str, str], hint: str = ""
            ) -> dict[str, Any]:
    opts = [_option(label, value) for label, value in options[:MAX_OPTIONS]]
    element: dict[str, Any] = {"type": "static_select", "options": opts}
    chosen = next((o for o in opts if o["value"].lower() == prefill.get(field, "").lower()), None)
    if chosen:
        element["initial_option"] = chosen
    return _input(field, element, hint=hint)


def _choice(field: str, allowed: list[str], prefill: Mapping[str, str]) -> dict[str, Any]:
    """A select when the config lists the choices, else free text (the core accepts any then)."""
    if allowed:
        return _select(field, [(a, a) for a in allowed], prefill)
    return _text_input(field, prefill)


def ticket_form(config: Config, prefill: Mapping[str, str] | None = None, meta: Mapping[str, Any] | None = None
                ) -> dict[str, Any]:
    """The modal view for views.open, optionally pre-filled (message shortcut)."""
    prefill = dict(prefill or {})
    prefill.setdefault("priority", "normal")
    blocks = [_text_input(f, prefill) for f in TEXT_FIELDS]
    blocks.append(_choice("category", config.desk.categories, prefill))
    blocks.append(_choice("product", config.desk.products, prefill))
    blocks.append(_select("priority", [(p, p) for p in PRIORITIES], prefill))
    assignee: dict[str, Any] = {"type": "users_select"}
    blocks.append(_input("assignee", assignee))
    groups = [(g.name, key) for key, g in config.groups.items()]
    blocks.append(_select("group", groups, prefill, hint=text_for("slack_form_group_hint")))
    return {"type": "modal", "callback_id": CALLBACK, "title": _plain(text_for("slack_form_title"), 24),
            "submit": _plain(text_for("slack_form_submit"), 24), "close": _plain(text_for("slack_form_cancel"), 24),
            "private_metadata": pack_meta(meta or {}), "blocks": blocks}


def pack_meta(meta: Mapping[str, Any]) -> str:
    """What the submission needs later (where to answer, the linked message, its files), ≤ 3000 chars."""
    data = dict(meta)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    while len(text) > META_MAX and data.get("files"):
        data["files"] = data["files"][:-1]
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= META_MAX else json.dumps({k: v for k, v in data.items() if k != "files"})


def unpack_meta(raw: str) -> dict[str, Any]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def read_values(state: Mapping[str, Any]) -> dict[str, str]:
    """view.state.values → {field: value} for every filled field."""
    values: dict[str, str] = {}
    for block_id, actions in (state or {}).items():
        action = (actions or {}).get(ACTION) or {}
        kind = action.get("type")
        if kind == "static_select":
            value = (action.get("selected_option") or {}).get("value")
        elif kind == "users_select":
            value = action.get("selected_user")
        else:
            value = action.get("value")
        if value:
            values[block_id] = str(value).strip()
    return values


def check(values: Mapping[str, str]) -> dict[str, str]:
    """Field errors found without the database (block_id → sentence)."""
    errors: dict[str, str] = {}
    if not values.get("title"):
        errors["title"] = render("err_no_summary", {})
    for field, limit in LIMITS.items():
        value = values.get(field, "")
        if len(value) > limit and field not in errors:
            errors[field] = render("err_too_long", {"field": _label(field), "length": len(value), "limit": limit})
    return errors


def to_command(values: Mapping[str, str], actor: Actor, meta: Mapping[str, Any], view_id: str) -> CreateTicket:
    """The submitted form → CreateTicket (a user picker value is vouched for by Slack)."""
    assignee = values.get("assignee", "")
    source = meta.get("source") or {}
    files = tuple(FileRef(PLATFORM, str(f[0]), str(f[1]), str(f[2])) for f in meta.get("files") or ()
                  if isinstance(f, list) and len(f) == 3)
    return CreateTicket(
        actor, title=values.get("title", ""), description=values.get("description", ""),
        order_no=values.get("order_no", ""), customer_name=values.get("customer_name", ""),
        customer_handle=values.get("customer_handle", ""), shipping_address=values.get("shipping_address", ""),
        category=values.get("category", ""), product=values.get("product", ""),
        priority=values.get("priority", ""), group=values.get("group", ""),
        assignee=f"@{assignee}" if assignee else "", attachments=files,
        source=ChatRef(PLATFORM, source["channel"], source.get("thread_ts"), source.get("ts"))
        if source.get("channel") else None,
        dedup_keys=(f"slack:view:{view_id}",) if view_id else (),
        known_users=vouched((assignee,), actor.workspace) if assignee else (),
    )


def errors_for(reply: Reply) -> dict[str, str]:
    """A core refusal as field errors, when it is about one field."""
    errors: dict[str, str] = {}
    for t in reply.texts:
        field = ERROR_FIELDS.get(t.key)
        if t.key == "err_too_long":
            field = str(t.params.get("field", ""))
        if field in TEXT_FIELDS + ("category", "product", "priority", "assignee", "group"):
            errors[field] = render(t.key, t.params)[:2000]
    return errors
