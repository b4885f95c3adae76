"""Outbox delivery to Slack: 429 storms lose and reorder nothing; unreachable channels park and tell the actor."""
from __future__ import annotations

import logging

import pytest

from bot.delivery import PermanentError, RetryLater, TransientError
from bot.slack.sender import classify, retry_after
from tests.slack.driver import SlackDriver


def parked(slack: SlackDriver) -> list[tuple[str, str]]:
    with slack.runtime.desk.uow() as uow:
        return [(r.kind, r.last_error) for r in uow.outbox.by_status("parked")]


async def changes_in_a_burst(slack: SlackDriver, rounds: int = 8) -> list[str]:
    """A comment and a priority change per round; returns the thread notices they should leave."""
    expected: list[str] = []
    priorities = ["urgent", "high", "low", "normal"]
    for i in range(rounds):
        await slack.slash("ULAOWANG", f"comment 1001 step {i}")
        expected.append(f"Lao Wang on #1001: step {i}")
        old, new = priorities[i % 4 - 1] if i else "normal", priorities[i % 4]
        await slack.slash("ULAOWANG", f"priority 1001 {new}")
        expected.append(f"Lao Wang changed #1001 priority from {old} to {new}.")
    return expected


@pytest.mark.asyncio
async def test_a_429_storm_delivers_every_notification_once_and_in_order(slack: SlackDriver) -> None:
    await slack.slash("UXIAOMEI", "Fan noise category:hardware")
    await slack.slash("UBOSS", "watch 1001")
    await slack.deliver()
    expected = await changes_in_a_burst(slack)
    # Slack allows far less than we send (the test config does not pace), and scripted bursts make
    # sure some 429s happen however slow this machine is
    slack.fake.enforce_channel_rate(40)
    slack.fake.rate_limit_next("chat.postMessage", retry_after=0, times=6)
    slack.fake.rate_limit_next("chat.update", retry_after=0, times=3)
    await slack.deliver()
    assert slack.fake.rate_limited_calls >= 9
    [card] = slack.cards("CWAREHOUSE")
    assert [m["text"] for m in slack.fake.thread("CWAREHOUSE", card["ts"])] == expected
    assert "🟢 normal" in card["blocks"][0]["text"]["text"]
    assert [m["text"].split(": ", 1)[1] for m in slack.fake.dms("UBOSS")] == [f"step {i}" for i in range(8)]
    assert parked(slack) == []


@pytest.mark.asyncio
async def test_notices_queued_before_the_first_card_is_posted_still_land_in_its_thread(slack: SlackDriver) -> None:
    await slack.slash("UXIAOMEI", "Fan noise category:hardware")
    expected = await changes_in_a_burst(slack, rounds=2)
    await slack.deliver()
    [card] = slack.cards("CWAREHOUSE")
    assert [m["text"] for m in slack.fake.thread("CWAREHOUSE", card["ts"])] == expected


@pytest.mark.asyncio
@pytest.mark.parametrize("problem", ["not_in_channel", "channel_not_found"])
async def test_an_unreachable_channel_parks_the_card_and_asks_the_actor_to_invite_the_bot(
        slack: SlackDriver, problem: str, caplog: pytest.LogCaptureFixture) -> None:
    if problem == "not_in_channel":
        slack.fake.set_bot_member("CTECH", False)
    else:
        slack.fake.fail_next("chat.postMessage", "channel_not_found", channel="CTECH")
    caplog.set_level(logging.ERROR, logger="afterdesk.outbox")
    await slack.slash("UXIAOMEI", "RAM fails MemTest product:memory")  # routed to the technicians
    await slack.deliver()
    assert slack.cards("CTECH") == []
    assert ("card", problem) in parked(slack)
    assert any("parked" in r.getMessage() and "CTECH" in r.getMessage() for r in caplog.records)
    [dm] = slack.fake.dms("UXIAOMEI")
    assert dm["text"].startswith(f"I could not post #1001 in <#CTECH>: {problem}. Invite me to that chat")
    # once invited, the next change posts the card
    slack.fake.set_bot_member("CTECH", True)
    await slack.slash("UXIAOMEI", "priority 1001 high")
    await slack.deliver()
    [card] = slack.cards("CTECH")
    assert "high" in card["blocks"][0]["text"]["text"]


@pytest.mark.asyncio
async def test_slack_trouble_is_retried_without_duplicates(slack: SlackDriver) -> None:
    slack.fake.fail_next("chat.postMessage", "internal_error", channel="CWAREHOUSE")
    slack.fake.rate_limit_next("conversations.open", retry_after=0)
    await slack.slash("UXIAOMEI", "Fan noise category:hardware")
    await slack.deliver()
    assert len(slack.cards("CWAREHOUSE")) == 1
    assert len(slack.fake.dms("ULAOWANG")) == 1
    assert parked(slack) == []


class _Response:
    def __init__(self, status: int, data: dict, headers: dict) -> None:
        self.status_code, self.data, self.headers = status, data, headers

    def get(self, key: str) -> object:
        return self.data.get(key)


def _error(status: int, error: str, headers: dict | None = None) -> Exception:
    from slack_sdk.errors import SlackApiError

    return classify(SlackApiError("x", _Response(status, {"ok": False, "error": error}, headers or {})))


def test_errors_map_to_what_the_dispatcher_does() -> None:
    limited = _error(429, "ratelimited", {"Retry-After": "3"})
    assert isinstance(limited, RetryLater) and limited.seconds == 3
    precise = _error(429, "ratelimited", {"Retry-After": "1", "X-Retry-After-Ms": "250"})
    assert isinstance(precise, RetryLater) and precise.seconds == 0.25
    assert isinstance(_error(503, "service_unavailable"), TransientError)
    assert isinstance(_error(200, "internal_error"), TransientError)
    for channel_problem in ("channel_not_found", "not_in_channel", "is_archived"):
        err = _error(200, channel_problem)
        assert isinstance(err, PermanentError) and err.hint == "invite" and err.reason == channel_problem
    for other in ("invalid_auth", "account_inactive", "invalid_blocks", "msg_too_long"):
        err = _error(200, other)
        assert isinstance(err, PermanentError) and err.hint == ""
    assert retry_after({}) == 1.0 and retry_after({"retry-after": "2"}) == 2.0


@pytest.mark.asyncio
async def test_a_deleted_card_is_posted_anew_and_its_thread_continues_there(slack: SlackDriver) -> None:
    await slack.slash("UXIAOMEI", "Fan noise category:hardware")
    await slack.deliver()
    [old] = slack.cards("CWAREHOUSE")
    slack.fake.fail_next("chat.update", "message_not_found")  # someone deleted the card in Slack
    await slack.slash("ULAOWANG", "priority 1001 urgent")
    await slack.deliver()
    new = slack.cards("CWAREHOUSE")[-1]
    assert new["ts"] != old["ts"] and "🔴 urgent" in new["blocks"][0]["text"]["text"]
    assert [m["text"] for m in slack.fake.thread("CWAREHOUSE", new["ts"])] == [
        "Lao Wang changed #1001 priority from normal to urgent."]
    await slack.slash("ULAOWANG", "status 1001 waiting")
    await slack.deliver()
    assert slack.cards("CWAREHOUSE")[-1]["ts"] == new["ts"] and "WAITING" in str(slack.fake.message("CWAREHOUSE", new["ts"]))
    assert parked(slack) == []
