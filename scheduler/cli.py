"""`afterdesk digest --to <recipient> [--date YYYY-MM-DD]`: print one digest (nothing is sent or recorded)."""
from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from handlers.clock import Clock, SystemClock
from handlers.sla.digest import digest_for
from handlers.texts import render
from scheduler.settings import SlaConfigError, load_sla
from store.db import make_session_factory
from store.errors import DatabaseProblem
from store.migrate import open_database
from store.uow import UnitOfWorkFactory


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `digest` to the afterdesk command line."""
    p = subparsers.add_parser("digest", help="print a daily digest as it would be sent")
    p.add_argument("--to", required=True, help="a recipient key from [digest.recipients]")
    p.add_argument("--date", type=_date, default=None,
                   help="the digest's date, YYYY-MM-DD (it reports on the day before; default: today)")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date — use YYYY-MM-DD, e.g. 2026-11-03") from None


def run(args: argparse.Namespace, config: Any, clock: Clock | None = None) -> int:
    """Print the digest for `args.to` from the loaded config (bot.config.Config); 2 on a config problem."""
    try:
        text = digest_text(config, args.to, args.date, clock or SystemClock())
    except (SlaConfigError, LookupError) as err:
        print(f"afterdesk: configuration problem:\n{err}", file=sys.stderr)
        return 2
    print(text)
    return 0


def digest_text(config: Any, to: str, day: date | None, clock: Clock) -> str:
    settings = load_sla(config)
    if settings is None or not settings.digests:
        raise LookupError("digest.recipients: no digest recipient is configured — add [digest.recipients.<name>]")
    try:
        engine = open_database(config.desk.database_url)
    except DatabaseProblem as err:
        raise LookupError(str(err)) from None
    try:
        with UnitOfWorkFactory(make_session_factory(engine)).read_only() as uow:
            try:
                digest = digest_for(uow, settings, config.policy(), to, day, clock.now())
            except KeyError as err:
                raise LookupError(f"digest --to: {err.args[0]}") from None
    finally:
        engine.dispose()
    return render(digest.key, digest.params)
