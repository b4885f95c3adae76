"""The desk the core runs commands on, built from the config: shared by the web process and the core process.

Kept apart from bot.bootstrap so the core process loads the store and the use cases, not the HTTP stack.
"""
from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Config, ConfigError
from bot.sla_config import load_sla
from handlers.bus import Desk
from handlers.clock import Clock, SystemClock
from handlers.people import sync_people
from handlers.sla.engine import install
from store.db import make_session_factory
from store.errors import DatabaseProblem
from store.migrate import open_database as store_open_database
from store.uow import UnitOfWorkFactory


def open_database(url: str, auto_upgrade: bool | None = None) -> Engine:
    """Engine for the URL; SQLite is created and upgraded on start, others must be upgraded first."""
    try:
        return store_open_database(url, auto_upgrade)
    except DatabaseProblem as err:
        raise ConfigError(str(err)) from None


def open_desk(config: Config, clock: Clock | None = None) -> tuple[Engine, Desk]:
    """Engine and desk, with the people from the config registered and the ticket counter in place."""
    engine = open_database(config.desk.database_url)
    uow = UnitOfWorkFactory(make_session_factory(engine))
    desk = Desk(uow=uow, clock=clock or SystemClock(), policy=config.policy())
    with uow() as u:
        sync_people(u, desk.policy.people)
        u.tickets.ensure_counter(desk.policy.first_number)
        u.commit()
    return engine, desk


def plug_sla(config: Config, desk: Desk) -> None:
    """The SLA engine's hooks (deadlines computed as tickets change), when the config has [sla] or [digest]."""
    settings = load_sla(config)
    if settings is not None:
        install(desk, settings)
