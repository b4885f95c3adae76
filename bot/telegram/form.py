"""The guided form behind `/ticket` alone: a pure state machine over plain dicts.

The state is what the database keeps (store FormSession.data), so a restart loses nothing:
    {"step": "order_no", "values": {"title": "…"}, "ask_id": 57, "last_message_id": 56, "thread": None}
No I/O here: the adapter loads the state, calls `answer`/`press`, sends the next question, saves.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.lifecycle import PRIORITIES, normalize_priority
from handlers.replies import Text

STEPS = ("title", "order_no", "customer_name", "customer_handle", "shipping_address", "category", "product",
         "priority")
SKIP_WORDS = frozenset({"skip", "/skip", "-", "跳过", "无"})
SKIP_DATA = "-"


@dataclass(frozen=True)
class FormSpec:
    """What the desk accepts: configured categories and products (empty: free text), field limits."""

    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    limits: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What the adapter does next: save `state` and ask its step, or create the ticket from `values`."""

    state: dict[str, Any] | None = None
    error: Text | None = None
    values: dict[str, str] | None = None

    @property
    def finished(self) -> bool:
        return self.values is not None


def start(thread_id: int | None = None, message_id: int = 0) -> dict[str, Any]:
    """A fresh form, at its first question."""
    return {"step": STEPS[0], "values": {}, "ask_id": None, "last_message_id": message_id, "thread": thread_id}


def choices(step: str, spec: FormSpec) -> tuple[str, ...]:
    """The options offered as buttons for a step (none: free text)."""
    if step == "category":
        return spec.categories
    if step == "product":
        return spec.products
    if step == "priority":
        return PRIORITIES
    return ()


def is_stale(state: dict[str, Any], message_id: int) -> bool:
    """A message the form already consumed (a redelivered update)."""
    return message_id <= int(state.get("last_message_id") or 0)


def answer(state: dict[str, Any], text: str, spec: FormSpec, message_id: int = 0) -> Outcome:
    """Apply a typed answer to the current step."""
    step = state["step"]
    value = " ".join(text.split()) if step != "shipping_address" else text.strip()
    seen = {**state, "last_message_id": max(message_id, int(state.get("last_message_id") or 0))}
    if value.lower() in SKIP_WORDS or not value:
        if step == "title":
            return Outcome(state=seen, error=Text("tg_form_need_title"))
        return _advance(seen, None)
    options = choices(step, spec)
    if step == "priority":
        chosen = normalize_priority(value)
        if chosen is None:
            return Outcome(state=seen, error=Text("tg_form_bad_choice", {"value": value, "allowed": ", ".join(options)}))
        value = chosen
    elif options:
        match = next((o for o in options if o.lower() == value.lower()), None)
        if match is None:
            return Outcome(state=seen, error=Text("tg_form_bad_choice", {"value": value, "allowed": ", ".join(options)}))
        value = match
    limit = spec.limits.get(step)
    if limit and len(value) > limit:
        return Outcome(state=seen, error=Text("tg_form_too_long", {"length": len(value), "limit": limit}))
    return _advance(seen, value)


def press(state: dict[str, Any], step: str, choice: str, spec: FormSpec) -> Outcome | None:
    """Apply a button press (an option index, or "-" to skip); None if the button is not for this step."""
    if step != state["step"]:
        return None
    if choice == SKIP_DATA:
        return _advance(dict(state), None)
    options = choices(step, spec)
    if not choice.isdigit() or int(choice) >= len(options):
        return None
    return _advance(dict(state), options[int(choice)])


def _advance(state: dict[str, Any], value: str | None) -> Outcome:
    step = state["step"]
    values = dict(state.get("values") or {})
    if value:
        values[step] = value
    index = STEPS.index(step) + 1
    if index >= len(STEPS):
        return Outcome(values=values)
    return Outcome(state={**state, "values": values, "step": STEPS[index], "ask_id": None})


def button_data(owner: str, step: str, choice: int | str) -> str:
    """callback_data of a form button: at most 2+16+1+16+1+2 bytes, well within Telegram's 64."""
    return f"f:{owner}:{step}:{choice}"
