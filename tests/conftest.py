"""Fixtures shared by all tests: databases (SQLite always, PostgreSQL when configured) and a fake clock."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, UTC

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handlers.clock import FakeClock
from store.db import make_engine
from store.migrate import upgrade
from tests.support import postgres_url


@pytest.fixture
def clock() -> FakeClock:
    # A Monday morning in Shanghai (01:00 UTC = 09:00 CST).
    return FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'afterdesk.db'}"


def _scratch_postgres(base: str) -> Iterator[str]:
    """A throwaway database per test, so runs (and parallel sessions) never share state."""
    url = make_url(base)
    name = f"afterdesk_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _backends() -> list[pytest.param]:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not postgres_url(), reason="set AFTERDESK_TEST_DATABASE_URL to run store tests on PostgreSQL")))
    return params


@pytest.fixture(params=_backends())
def db_url(request, tmp_path) -> Iterator[str]:
    """Each store test runs on SQLite and, when AFTERDESK_TEST_DATABASE_URL is set, on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'afterdesk.db'}"
    else:
        for url in _scratch_postgres(postgres_url()):  # type: ignore[arg-type]
            engine = make_engine(url)
            upgrade(engine)  # on PostgreSQL the schema is upgraded by `afterdesk db upgrade`, not on start
            engine.dispose()
            yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = postgres_url()
    if not base:
        pytest.skip("set AFTERDESK_TEST_DATABASE_URL to run PostgreSQL tests")
    yield from _scratch_postgres(base)
