"""The `afterdesk` command: run, demo, db upgrade, check-config."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import ConfigError, load_config
from bot.sla_config import load_sla
from scheduler import cli as scheduler_cli

log = logging.getLogger("afterdesk")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="afterdesk", description="After-sales tickets in Slack and Telegram.")
    parser.add_argument("--config", "-c", help="path to config.toml (default: $AFTERDESK_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with the configured platforms")
    sub.add_parser("demo", help="replay a real after-sales case on a temporary database")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"])
    sub.add_parser("check-config", help="validate the configuration")
    scheduler_cli.register(sub)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as err:
        print(f"afterdesk: configuration problem:\n{err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    logging.basicConfig(level=logging.WARNING)
    print(run_demo())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    load_sla(config)  # [sla] / [digest] are kept raw by Config: validate them too
    platforms = ", ".join(config.enabled_platforms()) or "none (enable slack, telegram or console)"
    print(f"Configuration OK. Platforms: {platforms}. Groups: {', '.join(config.groups)}. "
          f"People: {len(config.people)}. Database: {config.desk.database_url.split('://')[0]}.")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from bot.bootstrap import open_database

    config = load_config(args.config)
    engine = open_database(config.desk.database_url, auto_upgrade=True)
    engine.dispose()
    print("Database is at the latest schema.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.bootstrap import build
    from bot.logs import setup_logging

    config = load_config(args.config)
    load_sla(config)
    setup_logging(config.secrets())
    if not config.enabled_platforms():
        raise ConfigError("no platform is enabled — set slack.enabled, telegram.enabled or console.enabled = true")

    async def serve() -> None:
        # Migrations and loading people are blocking work: keep them off the event loop.
        runtime = await asyncio.to_thread(build, config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        log.info("Afterdesk is running (%s). Ctrl-C to stop.", ", ".join(config.enabled_platforms()))
        try:
            await stop.wait()
        finally:
            await runtime.stop()

    asyncio.run(serve())
    return 0


COMMANDS = {"run": cmd_run, "demo": cmd_demo, "db": cmd_db, "check-config": cmd_check,
            "digest": lambda args: scheduler_cli.run(args, load_config(args.config))}

if __name__ == "__main__":
    sys.exit(main())
