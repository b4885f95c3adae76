"""Webhook mode through the runtime's real HTTP server: the secret token is required, redelivery is a no-op."""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.bootstrap import build
from bot.config import Config, ConfigError, load_config
from tests.support import desk_overrides, merge
from tests.telegram.conftest import PROBE, SERVICE, WAREHOUSE, TelegramDesk, core_held, uid

SECRET = "s3cr3t-Token_42"
URL = "https://desk.example.com/telegram/webhook"
WEBHOOK = {"telegram": {"mode": "webhook", "webhook_secret": SECRET, "webhook_url": URL},
           "http": {"host": "127.0.0.1", "port": 0}}


@pytest_asyncio.fixture
async def hook(fake, db_file, clock):
    tg = await TelegramDesk(fake, db_file, clock, **WEBHOOK).start()
    try:
        yield tg
    finally:
        await tg.stop()


async def post(tg: TelegramDesk, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{tg.rt.http_port}/telegram/webhook"
        async with http.post(url, json=update, headers=headers) as response:
            return response.status


async def barrier(tg: TelegramDesk) -> None:
    """Updates are handled in order: once a later ping is answered, everything posted before it is done."""
    ping = tg.fake.next_update(PROBE, PROBE, "ping")
    assert await post(tg, ping) == 200
    await tg.answered(ping)


async def deliver(tg: TelegramDesk, update: dict[str, Any]) -> None:
    """Telegram posts the update; wait until the bot has handled it."""
    assert await post(tg, update) == 200
    await barrier(tg)


@pytest.mark.asyncio
async def test_webhook_is_registered_with_the_secret_and_polling_is_off(hook, fake):
    assert fake.webhook["url"] == URL and fake.webhook["secret_token"] == SECRET
    assert set(fake.webhook["allowed_updates"]) == {"message", "edited_message", "callback_query"}
    assert not fake.calls_to("getUpdates")


@pytest.mark.asyncio
async def test_wrong_or_missing_secret_is_refused_and_nothing_is_stored(hook, fake):
    update = fake.next_update(SERVICE, uid("xiaomei"), "/ticket Blue screen order:TB-1")
    assert await post(hook, update, secret=None) == 403
    assert await post(hook, update, secret="guess") == 403
    assert await post(hook, update, secret=SECRET + "x") == 403
    await barrier(hook)
    assert hook.ticket_count() == 0 and fake.bot_messages(SERVICE) == []
    with hook.rt.desk.uow() as uow:
        assert not uow.dedup.seen([f"telegram:update:{update['update_id']}"])
    # the real Telegram, with the secret: created
    await deliver(hook, update)
    assert hook.ticket_count() == 1
    assert any(t.startswith("Created #1001: Blue screen") for t in hook.bot_texts(SERVICE))


@pytest.mark.asyncio
async def test_a_redelivered_update_changes_nothing(hook, fake):
    create = fake.next_update(SERVICE, uid("xiaomei"), "/ticket Blue screen category:hardware")
    await deliver(hook, create)
    await hook.settle()
    card = hook.card(WAREHOUSE, 1001)
    reply = fake.next_update(WAREHOUSE, uid("lao_wang"), "Replacement shipped", reply_to=card["message_id"])
    await deliver(hook, reply)
    # Telegram did not get our 200 in time and posts both again, with the same update ids
    assert await post(hook, create) == 200
    assert await post(hook, reply) == 200
    await barrier(hook)
    assert hook.ticket_count() == 1
    assert [c.body for c in hook.ticket(1001).comments] == ["Replacement shipped"]
    assert [t for t in hook.bot_texts(SERVICE) if t.startswith("Created")] == [
        "Created #1001: Blue screen (group: Warehouse, assigned to Lao Wang)."]


@pytest.mark.asyncio
async def test_garbage_with_the_secret_is_a_bad_request(hook):
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{hook.rt.http_port}/telegram/webhook"
        async with http.post(url, data=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
            assert r.status == 400


def test_webhook_mode_fails_closed_without_a_secret(fake, db_file):
    telegram = {"enabled": True, "bot_token": fake.token, "mode": "webhook", "webhook_url": URL}
    with pytest.raises(ConfigError, match="webhook_secret is missing"):
        load_config(env={}, overrides=merge(desk_overrides(db_file), {"telegram": telegram}))
    # a config that skipped the loader's checks is still refused by the adapter itself
    config = Config.model_validate(merge(desk_overrides(db_file), {"telegram": telegram}))
    with pytest.raises(ConfigError, match="webhook_secret is missing"):
        build(config)
    config = Config.model_validate(merge(desk_overrides(db_file), {"telegram": {
        **telegram, "webhook_secret": "spaces are not allowed"}}))
    with pytest.raises(ConfigError, match="may only use"):
        build(config)
    config = Config.model_validate(merge(desk_overrides(db_file), {"telegram": {
        **telegram, "webhook_secret": SECRET, "webhook_url": "http://desk.example.com/telegram/webhook"}}))
    with pytest.raises(ConfigError, match="https://"):
        build(config)


@pytest.mark.asyncio
async def test_telegram_hears_ok_only_once_the_update_is_handled(hook, fake):
    # Until Telegram has its 200 it sends the update again: answering before the command is kept would lose
    # it if the bot stopped in between.
    update = fake.next_update(SERVICE, uid("xiaomei"), "/ticket Fan rattles category:hardware")
    with core_held(hook.rt) as entered:
        posting = asyncio.ensure_future(post(hook, update))
        await fake.async_wait_for(entered.is_set, message="the command reached the core")
        assert not posting.done()
    assert await posting == 200
    assert hook.ticket_count() == 1
