"""Alembic migrations run from code: `afterdesk db upgrade` and SQLite's automatic upgrade."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from store.db import make_engine
from store.errors import DatabaseProblem

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: latest)."""
    command.upgrade(alembic_config(engine), revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the latest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads


def open_database(url: str, auto_upgrade: bool | None = None) -> Engine:
    """Engine for the URL; SQLite is created and upgraded on open, others must be upgraded first.

    Raises DatabaseProblem (naming desk.database_url and the fix) when it cannot be used."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(url)
    except Exception as exc:  # unknown dialect, missing driver (e.g. psycopg not installed)
        raise DatabaseProblem(f"desk.database_url: cannot use this URL ({type(exc).__name__}: {str(exc)[:160]}) — "
                              "for PostgreSQL install the extra: pip install 'afterdesk[postgres]'") from None
    auto = engine.dialect.name == "sqlite" if auto_upgrade is None else auto_upgrade
    try:
        if auto:
            upgrade(engine)
        elif not is_current(engine):
            raise DatabaseProblem("the database schema is not up to date — run: afterdesk db upgrade")
    except DatabaseProblem:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise DatabaseProblem(f"desk.database_url: cannot open the database ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200]})") from None
    return engine
