"""Benchmark 4: notifications under platform limits, through the real senders and the outbox dispatcher.

Slack: 5,000 notices across 50 channels, FakeSlack answering 429 + Retry-After beyond 1 message/s per channel.
Telegram: 5,000 across 50 groups, FakeTelegram enforcing 1/s per chat, 20/min per group and 30/s overall —
Telegram's clock (the fake's windows and our pacer's) runs `time_scale` times faster, so minutes take seconds.
Rows go straight into the outbox (the dispatcher is what is measured); the fake counts what arrived.
"""
from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select

from bench import shop
from bench.common import Report, Row, Sizes, ratio, scratch_dir
from bot.bootstrap import build
from bot.config import load_config
from store.models import OutboxMessage
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

TARGET = 1.10  # within 10 % of the theoretical minimum
TG_GROUP_PER_MINUTE, TG_GLOBAL_PER_SECOND = 20, 30
_REF = re.compile(r"(m-?[A-Za-z0-9]+-\d+)")


def _rows(platform: str, chats: list[str], per_chat: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for i in range(per_chat):  # interleaved, as a festival's notifications arrive
        for chat in chats:
            rows.append(dict(created_at=now, next_attempt_at=now, ticket_id=None, person_id=None, kind="notice",
                             platform=platform, destination=f"{platform}:{chat}", status="pending", attempts=0,
                             last_error="", payload={"chat_id": chat, "text": {"key": "commented",
                                                                                "params": {"ref": f"m{chat}-{i}"}}}))
    return rows


def _insert(runtime: Any, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import insert

    with runtime.engine.begin() as conn:
        conn.execute(insert(OutboxMessage), rows)


def _status(runtime: Any) -> dict[str, int]:
    with runtime.engine.connect() as conn:
        return dict(conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())


async def _deliver_all(runtime: Any, total: int, timeout: float) -> tuple[float, dict[str, int]]:
    """Start the runtime and wait until every row is settled; seconds from ready to the last one sent."""
    await runtime.start()  # adapters connected (Telegram: getMe, commands, polling); the dispatcher runs
    t0, started = time.monotonic(), datetime.now(UTC)
    deadline = t0 + timeout
    status: dict[str, int] = {}
    while time.monotonic() < deadline:
        status = await asyncio.to_thread(_status, runtime)
        if status.get("pending", 0) == 0:
            break
        await asyncio.sleep(0.05)
    with runtime.engine.connect() as conn:
        last = conn.execute(select(func.max(OutboxMessage.sent_at))).scalar_one()
    await runtime.stop()
    if isinstance(last, str):
        last = datetime.fromisoformat(last).replace(tzinfo=UTC)
    elif last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    elapsed = (last - started).total_seconds() if last is not None else time.monotonic() - t0
    return elapsed, status


def _count(texts: list[str]) -> tuple[int, int]:
    refs = Counter(m.group(1) for t in texts if (m := _REF.search(t)))
    return len(refs), sum(n - 1 for n in refs.values())


def slack(sizes: Sizes, log: Callable[[str], None]) -> dict[str, Any]:
    channels = [f"C{n:08d}" for n in range(sizes.slack_channels)]
    tmp = scratch_dir("afterdesk-delivery-")
    with FakeSlack() as fake:
        for c in channels:
            fake.add_channel(c, c.lower())
        fake.enforce_channel_rate(sizes.slack_rate)
        sections = shop.slack_sections(fake.base_url)
        sections["outbox"] = {"slack_interval": 1.0 / sizes.slack_rate}
        runtime = shop.runtime(f"sqlite:///{tmp / 'slack.db'}", None, **sections)
        total = sizes.slack_channels * sizes.slack_per_channel
        _insert(runtime, _rows("slack", channels, sizes.slack_per_channel))
        minimum = (sizes.slack_per_channel - 1) / sizes.slack_rate  # first at 0 s, the last one 99 s later
        log(f"delivery: Slack, {total:,} notices to {len(channels)} channels at {sizes.slack_rate:g}/s "
            f"(minimum {minimum:.0f} s)")
        elapsed, status = asyncio.run(_deliver_all(runtime, total, timeout=minimum * 3 + 30))
        texts = [m.get("text", "") for c in channels for m in fake.messages(c)]
        unique, dup = _count(texts)
        return {"platform": "slack", "messages": total, "chats": len(channels), "elapsed_s": elapsed,
                "minimum_s": minimum,
                "delivered": unique, "lost": total - unique, "duplicated": dup, "status": status,
                "rate_limited_calls": fake.rate_limited_calls}


def telegram_minimum(per_group: int, scale: float) -> float:
    """Earliest possible last send: 20 per sliding minute per group, 1/s per chat (scaled)."""
    last = per_group - 1
    return ((last // TG_GROUP_PER_MINUTE) * 60.0 + (last % TG_GROUP_PER_MINUTE) * 1.0) * scale


def telegram_floor(groups: int, per_group: int, scale: float) -> float:
    """The minimum once the 30/s overall limit is counted too: a group's last message leaves a whole
    number of sliding minutes after one of its first 20, and those first messages of all the groups
    cannot leave faster than 30 a second."""
    last = per_group - 1
    head = last % TG_GROUP_PER_MINUTE  # the message of the first minute the last one is chained to
    first_minute = max((groups * (head + 1) - 1) // TG_GLOBAL_PER_SECOND, head) * 1.0
    return (first_minute + (last // TG_GROUP_PER_MINUTE) * 60.0) * scale


def telegram(sizes: Sizes, log: Callable[[str], None]) -> dict[str, Any]:
    from bot.telegram.adapter import TelegramAdapter

    scale = sizes.telegram_time_scale
    groups = [str(-1001000000000 - n) for n in range(sizes.telegram_groups)]
    tmp = scratch_dir("afterdesk-delivery-")
    with FakeTelegram() as fake:
        for g in groups:
            fake.add_chat(int(g), "supergroup", f"Group {g}")
        fake.enforce_limits(per_chat_per_second=1.0, per_group_per_minute=TG_GROUP_PER_MINUTE,
                            global_per_second=TG_GLOBAL_PER_SECOND, time_scale=scale)
        sections = {"telegram": {"enabled": True, "bot_token": fake.token, "base_url": fake.base_url,
                                 "base_file_url": fake.base_file_url},
                    "outbox": {"telegram_interval": 1.0 * scale, "telegram_group_per_minute": TG_GROUP_PER_MINUTE,
                               "telegram_global_per_second": TG_GLOBAL_PER_SECOND}}
        config = load_config(env={}, overrides=shop.overrides(f"sqlite:///{tmp / 'tg.db'}", **sections))
        factory = partial(TelegramAdapter, time_scale=scale, poll_timeout=1)
        runtime = build(config, adapter_factories={"telegram": factory})
        total = sizes.telegram_groups * sizes.telegram_per_group
        _insert(runtime, _rows("telegram", groups, sizes.telegram_per_group))
        minimum = telegram_minimum(sizes.telegram_per_group, scale)
        log(f"delivery: Telegram, {total:,} notices to {len(groups)} groups, clock ×{1 / scale:g} "
            f"(minimum {minimum:.1f} s = {minimum / scale:.0f} s at real limits)")
        elapsed, status = asyncio.run(_deliver_all(runtime, total, timeout=minimum * 3 + 30))
        texts = [m.get("text") or "" for g in groups for m in fake.bot_messages(int(g))]
        unique, dup = _count(texts)
        return {"platform": "telegram", "messages": total, "chats": len(groups), "elapsed_s": elapsed,
                "minimum_s": minimum, "floor_s": telegram_floor(len(groups), sizes.telegram_per_group, scale),
                "time_scale": scale, "delivered": unique, "lost": total - unique,
                "duplicated": dup, "status": status, "rate_limited_calls": fake.rate_limited_count}


def run(report: Report, sizes: Sizes, log: Callable[[str], None], which: tuple[str, ...] = ("slack", "telegram")
        ) -> None:
    results = {}
    for name in which:
        r = slack(sizes, log) if name == "slack" else telegram(sizes, log)
        results[name] = r
        over = ratio(r["elapsed_s"], r["minimum_s"])
        scaled = f" (Telegram clock ×{1 / r['time_scale']:g})" if "time_scale" in r else ""
        report.add(Row("delivery", f"{name}: {r['messages']:,} msgs / {r['chats']} chats, total time{scaled}",
                       r["elapsed_s"], "s", "theoretical minimum", r["minimum_s"], over, "≤ 1.10x minimum",
                       over is not None and over <= TARGET,
                       note=f"{r['rate_limited_calls']} 429s; outbox {r['status']}" + (
                           f"; {r['floor_s']:.1f} s is the least possible with the 30/s overall limit too"
                           if "floor_s" in r else "")))
        report.add(Row("delivery", f"{name}: lost / duplicated", r["lost"] + r["duplicated"], "",
                       target="0 lost, 0 duplicated", met=r["lost"] == 0 and r["duplicated"] == 0,
                       note=f"{r['delivered']:,} of {r['messages']:,} delivered once; lost {r['lost']}, "
                            f"duplicated {r['duplicated']}"))
    report.details["delivery"] = results
