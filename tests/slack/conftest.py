"""Fixtures: the fake Slack Web API, a runtime from the real bootstrap in HTTP mode, a signed-request driver."""
from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.bootstrap import Runtime, open_database
from handlers.clock import FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.slack.driver import SECRET, SlackDriver
from tests.support import make_runtime

USERS = {"UXIAOMEI": "Xiaomei", "ULAOWANG": "Lao Wang", "UAJIE": "A-Jie", "UBOSS": "Manager Chen",
         "UNEWBIE": "Newbie Zhou"}
CHANNELS = {"CSERVICE": "after-sales", "CWAREHOUSE": "warehouse", "CTECH": "tech"}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=("xoxb-test", "xapp-test")) as f:
        for uid, name in USERS.items():
            f.add_user(uid, name.lower().replace(" ", "_"), real_name=name, display_name=name)
        for cid, name in CHANNELS.items():
            f.add_channel(cid, name)
        yield f
        assert f.internal_errors == []


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the current schema, migrated once per session (each test gets a copy)."""
    path = tmp_path_factory.mktemp("template") / "t.db"
    open_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 12, 1, 30, tzinfo=UTC))


def slack_runtime(tmp_path: Path, clock: FakeClock, fake: FakeSlack, template: Path | None = None,
                  **sections: Any) -> Runtime:
    """A runtime with only Slack on (HTTP mode on a free port), talking to the fake."""
    if template is not None and not (tmp_path / "t.db").exists():
        shutil.copy(template, tmp_path / "t.db")
    slack = {"enabled": True, "api_base_url": fake.base_url, "bot_token": "xoxb-test", "signing_secret": SECRET,
             **sections.pop("slack", {})}
    return make_runtime(f"sqlite:///{tmp_path}/t.db", clock, console=False, slack=slack, http={"port": 0},
                        **sections)


async def started(runtime: Runtime) -> Runtime:
    await runtime.start()
    # Tests deliver with dispatcher.drain() so each step is deterministic: no background rounds.
    await runtime.dispatcher.stop()
    return runtime


@pytest_asyncio.fixture
async def runtime(tmp_path: Path, clock: FakeClock, fake: FakeSlack, migrated_db: Path
                  ) -> AsyncIterator[Runtime]:
    rt = await started(slack_runtime(tmp_path, clock, fake, migrated_db))
    try:
        yield rt
    finally:
        await rt.stop()


@pytest_asyncio.fixture
async def slack(runtime: Runtime, fake: FakeSlack) -> AsyncIterator[SlackDriver]:
    async with aiohttp.ClientSession() as session:
        yield SlackDriver(runtime, fake, session)
