"""What every benchmark shares: run sizes, timing, result rows, machine facts and the report."""
from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")
PACKAGES = ("afterdesk", "SQLAlchemy", "alembic", "aiohttp", "slack_bolt", "slack_sdk", "python-telegram-bot",
            "APScheduler", "pydantic")


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs: full (the issue's figures), quick (< 2 min) or tiny (the test)."""

    name: str
    ingest_seconds: float
    ingest_clients: int
    ingest_repeats: int
    sweep_sizes: tuple[int, int]
    digest_size: int
    footprint_size: int
    repeats: int
    slack_channels: int
    slack_per_channel: int
    slack_rate: float  # messages per second per channel (the fake's limit and the sender's pace)
    telegram_groups: int
    telegram_per_group: int
    telegram_time_scale: float
    peer: bool = True
    drain_cap_s: float = 60.0  # ingest: how long acked work may take to finish after the window
    naive_due_sizes: int = 2  # sweep: on how many of the two datasets the naive due-sweep also runs
    due_sizes: int = 2  # sweep: on how many datasets the 1,000-due sweep runs (it takes ~20 s)
    floor_repeats: int = 1  # ingest: runs of the ack-only floor (median kept)
    under_load: bool = True  # ingest: also run it while the SLA sweep and digest loop (1M-ticket copy)
    naive_budget_s: float = 30.0  # digest: time the naive baseline may take before it stops repeating
    footprint_settle_s: float = 5.0
    footprint_repeats: int = 3

    @property
    def big(self) -> int:
        return self.sweep_sizes[1]


FULL = Sizes("full", ingest_seconds=30, ingest_clients=50, ingest_repeats=1, sweep_sizes=(10_000, 1_000_000),
             digest_size=1_000_000, footprint_size=1_000_000, repeats=5, slack_channels=50, slack_per_channel=100,
             slack_rate=1.0, telegram_groups=50, telegram_per_group=100, telegram_time_scale=0.5)
QUICK = Sizes("quick", ingest_seconds=5, ingest_clients=50, ingest_repeats=1, sweep_sizes=(10_000, 100_000),
              digest_size=100_000, footprint_size=100_000, repeats=3, slack_channels=10, slack_per_channel=10,
              slack_rate=1.0, telegram_groups=10, telegram_per_group=30, telegram_time_scale=0.2,
              drain_cap_s=10.0, naive_budget_s=3.0, under_load=False, naive_due_sizes=0, due_sizes=0, footprint_settle_s=2.0, footprint_repeats=1)
TINY = Sizes("tiny", ingest_seconds=0.5, ingest_clients=5, ingest_repeats=1, sweep_sizes=(300, 600),
             digest_size=2_000, footprint_size=2_000, repeats=1, slack_channels=2, slack_per_channel=3,
             slack_rate=20.0, telegram_groups=2, telegram_per_group=4, telegram_time_scale=0.01, peer=False,
             drain_cap_s=5.0, footprint_settle_s=1.0, footprint_repeats=1)


@dataclass
class Row:
    """One figure: ours against a baseline measured in the same run, and the target it must meet."""

    bench: str
    metric: str
    value: float | None
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    sizes: Sizes
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


MEMORY_DIR = Path("/dev/shm")


def scratch_dir(prefix: str, memory: bool = False) -> Path:
    """A temporary directory removed when the process exits (database copies are up to 1 GB each).

    `memory`: in RAM (/dev/shm) when it has room for a few copies of the biggest database — copying 1 GB
    there takes ~0.5 s against ~2 s on disk, and leaves no gigabytes of writeback behind to disturb the
    next measurement. SQLite commits in WAL mode with synchronous=NORMAL do not fsync, so the database's
    own speed differs little."""
    base = None
    if memory and MEMORY_DIR.is_dir() and shutil.disk_usage(MEMORY_DIR).free > 6 * 1024 ** 3:
        base = str(MEMORY_DIR)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    atexit.register(shutil.rmtree, path, True)
    return path


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of the values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(p / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Median wall seconds of `repeats` calls (and all samples, and the last result)."""
    samples = []
    result = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return median(samples), samples, result


def timed_budget(fn: Callable[[], Any], repeats: int, budget_s: float) -> tuple[float, list[float], Any]:
    """Like `timed`, but stops repeating once `budget_s` is spent (long measurements run once or twice)."""
    samples = []
    result = None
    spent = 0.0
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
        spent += samples[-1]
        if spent >= budget_s:
            break
    return median(samples), samples, result


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare figures across machines."""
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "-"
    return {"cores": os.cpu_count(), "memory_gib": mem, "cpu": cpu or platform.processor(),
            "python": sys.version.split()[0], "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
            "packages": versions}


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MiB (Linux /proc)."""
    return _kib(f"/proc/{pid}/status", "VmRSS:") / 1024


def family(pid: int) -> list[int]:
    """The process and its descendants (`afterdesk run` and its core process)."""
    out = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += family(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def family_memory_mb(pid: int) -> dict[str, float]:
    """RSS (each process counts the pages it shares) and PSS (shared pages split between the processes)
    of a process with its descendants, in MiB."""
    rows = []
    for p in family(pid):
        try:
            rows.append((_kib(f"/proc/{p}/status", "VmRSS:"), _kib(f"/proc/{p}/smaps_rollup", "Pss:"),
                         _kib(f"/proc/{p}/status", "VmHWM:")))
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended between the listing and the reading
    return {"rss": sum(r[0] for r in rows) / 1024, "pss": sum(r[1] for r in rows) / 1024,
            "hwm": sum(r[2] for r in rows) / 1024, "processes": len(rows)}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a (running) process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kib(path: str, key: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in {path}")


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit in ("ms", "s", "MB", "x", "%") or isinstance(value, float):
        if abs(value) >= 100:
            text = f"{value:,.0f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        else:
            text = f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".strip()


def table(report: Report) -> str:
    """The results as a fixed-width table (also pasted into docs/performance.md)."""
    head = ("benchmark", "figure", "Afterdesk", "baseline", "baseline value", "ratio", "target", "met")
    lines = []
    for r in report.rows:
        met = {True: "yes", False: "NO", None: ""}[r.met]
        lines.append((r.bench, r.metric, fmt(r.value, r.unit), r.baseline, fmt(r.baseline_value, r.unit)
                      if r.baseline else "", f"{r.ratio:.2f}x" if r.ratio is not None else "", r.target, met))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)] if lines else [len(h) for h in head]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    for row in report.rows:
        if row.note:
            out.append(f"  · {row.bench} / {row.metric}: {row.note}")
    for name, err in report.errors.items():
        out.append(f"  ! {name}: {err}")
    return "\n".join(out)


def write_json(report: Report, directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.started.strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}-{report.sizes.name}.json"
    data = {"started": report.started.isoformat(), "finished": datetime.now(UTC).isoformat(),
            "mode": report.sizes.name, "sizes": asdict(report.sizes), "machine": machine(),
            "rows": [asdict(r) for r in report.rows], "details": report.details, "errors": report.errors}
    path.write_text(json.dumps(data, indent=2, default=str))
    return path
