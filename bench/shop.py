"""The desk the benchmarks run: the PC shop of the tests (people, groups, routing), plus bench knobs."""
from __future__ import annotations

import copy
from typing import Any

from bot.bootstrap import Runtime, build
from bot.config import load_config
from handlers.clock import Clock
from tests.support import desk_overrides, merge

TEAM = "T0001"
BOT_TOKEN = "xoxb-test"
SIGNING_SECRET = "bench-signing-secret"


def overrides(database_url: str, **sections: Any) -> dict[str, Any]:
    """Config sections for a runtime on `database_url`; `sections` deep-merge over the shop."""
    base = desk_overrides(database_url)
    base["outbox"] = {"poll_seconds": 1.0}  # production defaults: paced at 1 message/s per chat
    return merge(base, sections)


# One target for every priority keeps the generated data's deadlines exact (see bench.dataset).
TARGETS = {"first_response": "2h", "resolution": "3d"}
SLA = {"sla": {"enabled": True, "warn_at": 0.75, "reescalate_every": "4h", "unclaimed_after": "30m",
               "auto_close_after": "3d", "targets": {p: dict(TARGETS) for p in ("urgent", "high", "normal", "low")}},
       "digest": {"enabled": True, "recipients": {"chen": {"person": "boss", "at": "09:00",
                                                            "timezone": "Asia/Shanghai"}}}}
DIGEST_RECIPIENT = "chen"


def slack_sections(api_base_url: str) -> dict[str, Any]:
    return {"slack": {"enabled": True, "mode": "http", "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET,
                      "api_base_url": api_base_url, "team_id": TEAM},
            "http": {"host": "127.0.0.1", "port": 0}}


def runtime(database_url: str, clock: Clock | None = None, **sections: Any) -> Runtime:
    """A runtime from the real bootstrap, as `afterdesk run` would build it."""
    return build(load_config(env={}, overrides=overrides(database_url, **copy.deepcopy(sections))), clock=clock)
