"""Benchmark 5: `afterdesk run` idle on a 1,000,000-ticket database — resident memory and time to ready.

A real subprocess from a real config file (console platform, SLA and digests on, SystemClock). The copy of
the database has its SLA events moved past today's date so that "idle" means idle: nothing due.
Baselines: the same command on an empty database, and a bare `import bot.bootstrap` interpreter.

The bot is ready before its SLA catch-up has checked the open tickets (that runs as the scheduler's first job);
the time until it has — when the sweeps start — is measured too, and memory is read once it is idle after that.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import dataset as data
from bench import shop
from bench.common import Report, Row, Sizes, family_memory_mb, ratio, rss_mb, scratch_dir
from scheduler.service import CATCH_UP_DONE
from store.migrate import open_database

RSS_TARGET_MB = 150.0
READY_LINE = "Afterdesk is running"
SETTLE_S = 5.0


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers, booleans and arrays are valid TOML."""
    return json.dumps(value)


def write_config(path: Path, database_url: str) -> None:
    """The shop's config as a TOML file (what a user would write)."""
    cfg = shop.overrides(database_url, console={"enabled": True}, **shop.SLA)
    lines: list[str] = []

    def emit(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_tables(v)}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{json.dumps(k)} = {_toml(v)}")
        for k, v in table.items():
            if isinstance(v, dict):
                emit(f"{prefix}.{json.dumps(k)}" if prefix else json.dumps(k), v)
            elif _is_tables(v):
                for item in v:
                    lines.append(f"[[{prefix + '.' if prefix else ''}{json.dumps(k)}]]")
                    lines.extend(f"{json.dumps(ik)} = {_toml(iv)}" for ik, iv in item.items())

    emit("", cfg)
    path.write_text("\n".join(lines) + "\n")


def _is_tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v)


SHIFT = {"tickets": ("created_at", "updated_at", "first_response_at", "resolved_at", "closed_at",
                     "first_response_due", "resolution_due", "sla_next_at"),
         "sla_reminders": ("deadline", "clock_due", "fired_at", "acked_at"),
         "sla_acks": ("clock_due", "at"), "sla_pauses": ("started_at", "ended_at")}
# Closed tickets (nine in ten) have no SLA clock or next event left: the idle bot never reads them, so they
# stay where they are — moving every row through the tickets' many indexes took ~17 s more per run.
WHERE = {"tickets": "status IN ('new', 'open', 'waiting', 'resolved')"}


def idle_copy(ds: data.Dataset, directory: Path) -> Path:
    """A copy moved in time so that its `NOW` is a minute ago: `afterdesk run` runs on the wall clock, and
    everything SLA-related shifts together, so the engine still finds every ticket up to date."""
    path = ds.copy_to(directory)
    seconds = int((datetime.now(UTC) - data.NOW).total_seconds()) - 60
    conn = sqlite3.connect(path)
    try:
        for table, columns in SHIFT.items():
            # strftime drops microseconds; the stored format keeps them, so they are carried over.
            sets = ", ".join(f"{c} = strftime('%Y-%m-%d %H:%M:%S', {c}, '{seconds:+d} seconds') || substr({c}, 20)"
                             for c in columns)
            where = f" WHERE {WHERE[table]}" if table in WHERE else ""
            conn.execute(f"UPDATE {table} SET {sets}{where}")
        conn.commit()
    finally:
        conn.close()
    digests_sent(path)
    return path


def digests_sent(path: Path) -> None:
    """Record today's and tomorrow's digests as sent: past a recipient's hour, a start would send one at once
    (a digest over 1,000,000 tickets), and idle would depend on the time of day the benchmark runs."""
    now = datetime.now(UTC)
    rows = []
    for key, recipient in shop.SLA["digest"]["recipients"].items():
        today = now.astimezone(ZoneInfo(recipient.get("timezone", "UTC"))).date()
        rows += [(key, str(day), now.isoformat(" ", "microseconds")[:26]) for day in (today, today + timedelta(days=1))]
    conn = sqlite3.connect(path)
    try:
        conn.executemany("INSERT INTO sla_digest_runs (recipient, day, sent_at, late) VALUES (?, ?, ?, 0)", rows)
        conn.commit()
    finally:
        conn.close()


def run_process(config: Path, log_path: Path, settle: float = SETTLE_S) -> dict[str, Any]:
    """Start `afterdesk run`, time it to its ready line and to the end of its SLA catch-up, let it idle,
    read its memory, stop it."""
    exe = Path(sys.executable).with_name("afterdesk")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bot.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERDESK_")}
    t0 = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd + ["--config", str(config), "run"], stdout=subprocess.DEVNULL, stderr=log,
                                env=env)
    try:
        ready = _wait_for(proc, log_path, READY_LINE, t0)
        caught_up = _wait_for(proc, log_path, CATCH_UP_DONE, t0)
        samples = []
        end = time.monotonic() + settle
        while time.monotonic() < end:
            samples.append(family_memory_mb(proc.pid)["rss"])
            time.sleep(0.25)
        idle = family_memory_mb(proc.pid)
        web = rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"ready_s": ready, "caught_up_s": caught_up, "rss_mb": idle["rss"], "pss_mb": idle["pss"],
            "peak_rss_mb": idle["hwm"], "processes": idle["processes"], "web_rss_mb": web,
            "rss_samples_mb": samples}


def _wait_for(proc: subprocess.Popen[bytes], log_path: Path, line: str, t0: float, limit: float = 120.0) -> float:
    """Seconds from `t0` until `line` appears in the process's log."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if line in log_path.read_text(errors="replace"):
            return time.monotonic() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"afterdesk run exited {proc.returncode}: {log_path.read_text()[-1500:]}")
        time.sleep(0.01)
    raise RuntimeError(f"afterdesk run did not log {line!r} in {limit:g} s")


def bare_import_rss() -> float:
    """RSS of an interpreter that imported the bootstrap (everything `afterdesk run` loads at import)."""
    code = "import bot.bootstrap, bot.cli, time; print('ok', flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()  # type: ignore[union-attr]
        time.sleep(0.3)
        return rss_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def run(report: Report, sizes: Sizes, log: Callable[[str], None]) -> None:
    ds = data.dataset(sizes.footprint_size, log)
    tmp = scratch_dir("afterdesk-footprint-", memory=True)
    big_cfg, empty_cfg = tmp / "big.toml", tmp / "empty.toml"
    t0 = time.monotonic()
    write_config(big_cfg, f"sqlite:///{idle_copy(ds, tmp)}")
    copy_s = time.monotonic() - t0
    # Created and migrated here, so no counted start pays for the migrations.
    open_database(f"sqlite:///{tmp / 'empty.db'}").dispose()
    digests_sent(tmp / "empty.db")
    write_config(empty_cfg, f"sqlite:///{tmp / 'empty.db'}")
    log(f"footprint: afterdesk run on {ds.tickets:,} tickets, on an empty database, and a bare import")
    settle, n = sizes.footprint_settle_s, sizes.footprint_repeats
    runs_big = [run_process(big_cfg, tmp / f"big-{i}.log", settle) for i in range(n)]
    runs_empty = [run_process(empty_cfg, tmp / f"empty-{i}.log", settle) for i in range(n)]
    bare = bare_import_rss()

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return sorted(r[key] for r in runs)[len(runs) // 2]

    big_rss, empty_rss = med(runs_big, "rss_mb"), med(runs_empty, "rss_mb")
    big_ready, empty_ready = med(runs_big, "ready_s"), med(runs_empty, "ready_s")
    big_caught_up, empty_caught_up = med(runs_big, "caught_up_s"), med(runs_empty, "caught_up_s")
    report.details["footprint"] = {"tickets": ds.tickets, "big": runs_big, "empty": runs_empty,
                                   "bare_import_rss_mb": bare, "idle_copy_s": round(copy_s, 1)}
    processes = runs_big[0]["processes"]
    report.add(Row("footprint", f"RSS idle, {ds.tickets:,} tickets", big_rss, "MB", "same, empty database",
                   empty_rss, ratio(big_rss, empty_rss), f"< {RSS_TARGET_MB:g} MB", big_rss < RSS_TARGET_MB,
                   note=f"{processes} process{'es' if processes > 1 else ''} summed (web "
                        f"{med(runs_big, 'web_rss_mb'):.0f} MB + core {big_rss - med(runs_big, 'web_rss_mb'):.0f} MB), "
                        f"PSS {med(runs_big, 'pss_mb'):.0f} MB; peak during start "
                        f"{med(runs_big, 'peak_rss_mb'):.0f} MB; bare `import bot.bootstrap` {bare:.0f} MB"))
    report.add(Row("footprint", f"start-up to ready, {ds.tickets:,} tickets", big_ready, "s",
                   "same, empty database", empty_ready, ratio(big_ready, empty_ready)))
    report.add(Row("footprint", f"start-up to SLA caught up (sweeps running), {ds.tickets:,} tickets",
                   big_caught_up, "s", "same, empty database", empty_caught_up, ratio(big_caught_up, empty_caught_up),
                   note="the catch-up checks every open ticket against the policy in the background"))
