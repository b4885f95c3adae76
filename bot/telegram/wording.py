"""Telegram HTML rendering of handlers.texts sentences (the only place Telegram text is escaped)."""
from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from handlers import texts



def esc(value: str) -> str:
    """Escape text for Telegram HTML (quotes need no escaping outside attributes)."""
    return html.escape(value, quote=False)


def template(key: str) -> str:
    """The sentence pattern (plain text) from the one place every user-facing string lives."""
    return texts.EN[key]


def say(key: str, params: Mapping[str, Any] | None = None) -> str:
    """A sentence as Telegram HTML: the pattern and every parameter escaped (help shows '<summary>')."""
    return esc(template(key)).format_map({k: esc(str(v)) for k, v in (params or {}).items()})


def compose(key: str, parts: Mapping[str, str]) -> str:
    """A sentence whose parameters are already Telegram HTML (a mention, a rendered message)."""
    return esc(template(key)).format_map(dict(parts))


def plain(key: str, **params: Any) -> str:
    """The sentence as plain text (button labels, answers to button presses, the command menu)."""
    return template(key).format_map({k: str(v) for k, v in params.items()})
