"""`python -m bench [--quick|--tiny] [--only NAME ...]`: run the benchmarks, print the table, write JSON."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import FULL, QUICK, RESULTS, TINY, Report, machine, table, write_json

NAMES = ("ingest", "sweep", "digest", "delivery", "footprint")


def _ingest(report: Report, log: Callable[[str], None]) -> None:
    from bench import background, ingest

    ingest.run(report, report.sizes, log, background.loop, background.database(report.sizes, log))


def _sweep(report: Report, log: Callable[[str], None]) -> None:
    from bench import sweep

    sweep.run(report, report.sizes, log)


def _digest(report: Report, log: Callable[[str], None]) -> None:
    from bench import digest

    digest.run(report, report.sizes, log)


def _delivery(report: Report, log: Callable[[str], None]) -> None:
    from bench import delivery

    delivery.run(report, report.sizes, log)


def _footprint(report: Report, log: Callable[[str], None]) -> None:
    from bench import footprint

    footprint.run(report, report.sizes, log)


BENCHMARKS: dict[str, Callable[[Report, Callable[[str], None]], None]] = {
    "ingest": _ingest, "sweep": _sweep, "digest": _digest, "delivery": _delivery, "footprint": _footprint}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes and windows (< 2 min)")
    size.add_argument("--tiny", action="store_true", help="toy sizes: exercises the harness (the test uses it)")
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}")
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk (needs PyPI on first run)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes (default bench/results)")
    parser.add_argument("--log", type=Path, help="Afterdesk's own log lines (default: a temp file)")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    if args.no_peer:
        sizes = dataclasses.replace(sizes, peer=False)
    if args.tiny and args.quick:  # pragma: no cover - argparse forbids it
        parser.error("--tiny or --quick")
    log_path = args.log or Path(tempfile.gettempdir()) / "afterdesk-bench.log"
    _quiet_logging(log_path)
    report = Report(sizes)
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", flush=True)

    facts = machine()
    say(f"Afterdesk benchmarks ({sizes.name}) on {facts['cores']} cores, {facts['memory_gib']} GiB, "
        f"Python {facts['python']}, SQLite {facts['sqlite']}; Afterdesk's log: {log_path}")
    if sizes.name == "quick":
        say(f"quick mode: the sweep compares {sizes.sweep_sizes[0]:,} with {sizes.sweep_sizes[1]:,} tickets "
            f"(not 1,000,000), nothing due only (the 1,000-due sweeps and their naive baseline take ~30 s); "
            f"digest and footprint run on {sizes.digest_size:,}; {sizes.ingest_seconds:g} s ingest windows, "
            f"no ingest under SLA load; "
            f"{sizes.slack_channels * sizes.slack_per_channel} Slack and "
            f"{sizes.telegram_groups * sizes.telegram_per_group} Telegram messages")
    for name in args.only or NAMES:
        t0 = time.monotonic()
        try:
            BENCHMARKS[name](report, say)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            report.errors[name] = f"{type(exc).__name__}: {exc}"
            (log_path.parent / f"afterdesk-bench-{name}.trace").write_text(traceback.format_exc())
            say(f"{name}: FAILED — {type(exc).__name__}: {exc}")
        report.details.setdefault("seconds", {})[name] = round(time.monotonic() - t0, 1)
    print()
    print(table(report))
    path = write_json(report, args.results)
    say(f"results: {path}")
    return 0 if not report.errors else 1


def _quiet_logging(path: Path) -> None:
    """Afterdesk logs (warnings: rate limits, parked rows) go to a file, not into the table."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def run_in_process(argv: list[str]) -> Any:  # pragma: no cover - convenience for notebooks
    return main(argv)
