"""The endpoint itself: URL verification, and fail-closed signature checks (forged, unsigned, stale → 401)."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.config import ConfigError
from tests.slack.conftest import slack_runtime
from tests.slack.driver import SlackDriver


@pytest.mark.asyncio
async def test_url_verification_challenge_is_answered(slack: SlackDriver) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    answer = await slack.send(body, "application/json")
    assert answer.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in answer.body


def _ticket_command_body(slack: SlackDriver) -> str:
    return urlencode({"team_id": "T0001", "channel_id": "CSERVICE", "user_id": "UXIAOMEI", "command": "/ticket",
                      "text": "Forged ticket category:hardware", "response_url": slack.fake.new_response_url(),
                      "trigger_id": "1.2.3"})


@pytest.mark.asyncio
async def test_forged_unsigned_or_stale_requests_get_401_and_change_nothing(slack: SlackDriver) -> None:
    form = "application/x-www-form-urlencoded"
    now = int(time.time())
    attempts = {
        "bad signature": {"signature": "v0=" + "0" * 64},
        "signature of another body": {"timestamp": now, "signature": SignatureVerifier(slack.secret)
                                      .generate_signature(timestamp=str(now), body="token=x")},
        "stale timestamp": {"timestamp": now - 6 * 60},
        "future timestamp": {"timestamp": now + 6 * 60},
        "unsigned": {"signed": False},
    }
    for how, tampering in attempts.items():
        answer = await slack.send(_ticket_command_body(slack), form, **tampering)
        assert answer.status == 401, how
    slack.secret = "someone-elses-secret"
    assert (await slack.send(_ticket_command_body(slack), form)).status == 401
    await slack.deliver()
    assert slack.ticket_count() == 0
    assert slack.fake.all_posts() == [] and slack.fake.responses() == []
    assert not slack.fake.calls_to("views.open")


@pytest.mark.asyncio
async def test_a_replayed_event_with_an_old_signature_is_refused(slack: SlackDriver) -> None:
    card = await _a_card(slack)
    event = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "replayed?")
    answer = await slack.event(event, timestamp=int(time.time()) - 3600)
    assert answer.status == 401
    assert slack.ticket(1001).comments == ()


async def _a_card(slack: SlackDriver) -> str:
    await slack.slash("UXIAOMEI", "Fan is loud category:hardware")
    await slack.deliver()
    return slack.cards("CWAREHOUSE")[0]["ts"]


def test_http_mode_without_signing_secret_refuses_to_start(tmp_path, clock, fake) -> None:
    with pytest.raises(ConfigError, match="signing_secret"):
        slack_runtime(tmp_path, clock, fake, slack={"signing_secret": None})


@pytest.mark.asyncio
async def test_requests_from_another_workspace_are_dropped_when_team_id_is_set(tmp_path, clock, fake) -> None:
    import aiohttp

    from tests.slack.conftest import started

    runtime = await started(slack_runtime(tmp_path, clock, fake, slack={"team_id": "T0001"}))
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackDriver(runtime, fake, session)
            body = _ticket_command_body(slack).replace("team_id=T0001", "team_id=TOTHER")
            answer = await slack.send(body, "application/x-www-form-urlencoded")
            assert answer.status == 200 and answer.body == ""
            assert slack.ticket_count() == 0
            assert (await slack.slash("UXIAOMEI", "Ours category:hardware")).responses[0]["text"].startswith("Created")
    finally:
        await runtime.stop()


@pytest.mark.asyncio
async def test_a_bot_token_slack_refuses_stops_the_start(tmp_path, clock, fake) -> None:
    runtime = slack_runtime(tmp_path, clock, fake, slack={"bot_token": "xoxb-revoked"})
    with pytest.raises(ConfigError, match="refused by Slack \\(invalid_auth\\)"):
        await runtime.start()
    await runtime.stop()
