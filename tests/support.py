"""Shared test helpers: a desk config like a real shop's, and runtimes built by the real bootstrap."""
from __future__ import annotations

import copy
import os
from typing import Any

from bot.bootstrap import Runtime, build
from bot.config import load_config
from bot.console import ConsoleChat
from handlers.clock import FakeClock

PEOPLE = {
    "xiaomei": {"name": "Xiaomei", "console": "xiaomei", "slack": "UXIAOMEI", "telegram": "1001",
                "telegram_username": "xiaomei_cs", "timezone": "Asia/Shanghai"},
    "lao_wang": {"name": "Lao Wang", "console": "lao_wang", "slack": "ULAOWANG", "telegram": "1002",
                 "telegram_username": "laowang_wh", "timezone": "Asia/Shanghai"},
    "a_jie": {"name": "A-Jie", "console": "a_jie", "slack": "UAJIE", "telegram": "1003",
              "telegram_username": "ajie_tech"},
    "boss": {"name": "Manager Chen", "console": "boss", "slack": "UBOSS", "telegram": "1004",
             "telegram_username": "chen_mgr"},
}


def desk_overrides(database_url: str) -> dict[str, Any]:
    """Config sections for a PC shop: service, warehouse (lead auto-assigned) and technicians."""
    return copy.deepcopy({
        "desk": {"database_url": database_url, "default_group": "service",
                 "categories": ["hardware", "software", "shipping", "refund"]},
        "outbox": {"poll_seconds": 0.05, "slack_interval": 0.0, "telegram_interval": 0.0},
        "people": PEOPLE,
        "groups": {
            "service": {"name": "Customer service", "members": ["xiaomei"], "managers": ["boss"],
                        "channels": {"console": "after-sales", "slack": "CSERVICE", "telegram": "-100100"}},
            "warehouse": {"name": "Warehouse", "members": ["lao_wang"], "managers": ["boss"],
                          "default_assignee": "lao_wang",
                          "channels": {"console": "warehouse", "slack": "CWAREHOUSE", "telegram": "-100200"}},
            "tech": {"name": "Technicians", "members": ["a_jie"],
                     "channels": {"console": "tech", "slack": "CTECH", "telegram": "-100300"}},
        },
        "routing": [{"category": "hardware", "group": "warehouse"}, {"product": "memory", "group": "tech"},
                    {"keyword": "courier", "group": "service"}],
    })


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def make_runtime(database_url: str, clock: FakeClock, console: bool = True, **sections: Any) -> Runtime:
    """A runtime from the real bootstrap; `sections` deep-merge over the shop config."""
    overrides = merge(desk_overrides(database_url), {"console": {"enabled": console}, **sections})
    chat = ConsoleChat() if console else None
    return build(load_config(env={}, overrides=overrides), clock=clock, console=chat)


def postgres_url() -> str | None:
    return os.environ.get("AFTERDESK_TEST_DATABASE_URL") or None
