"""What runs beside ingest to load the process like a festival morning: the SLA sweep and the manager digest.

Both are the scheduler's own functions, called in a worker thread in a loop (far more often than the
scheduler would: a digest is built every round, where a real desk builds one per manager per day).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import dataset as data
from bench import shop
from bench.common import Sizes
from handlers.clock import ShiftedClock

PAUSE_S = 1.0


def database(sizes: Sizes, log: Callable[[str], None]) -> Callable[[Path], tuple[str, Any]]:
    """A factory: a private copy of the big dataset and a clock running from the moment 1,000 reminders fall
    due (a real, moving clock, so the core runs in its own process as it does in production)."""

    def make(directory: Path) -> tuple[str, Any]:
        ds = data.dataset(sizes.digest_size, log)
        return f"sqlite:///{ds.copy_to(directory, 'festival.db')}", ShiftedClock(data.DUE_AT)

    return make


async def loop(runtime: Any, stop: asyncio.Event) -> dict[str, Any]:
    """Sweep, build a digest, pause; until `stop` — with the runtime's SLA sections switched on."""
    from handlers.sla.digest import digest_for
    from handlers.sla.engine import engine_for
    from scheduler.jobs import sweep

    engine = engine_for(runtime.desk)
    if engine is None:
        raise RuntimeError("the runtime has no SLA engine: pass shop.SLA sections")
    desk = runtime.desk

    def digest() -> None:
        with desk.uow.read_only() as uow:
            digest_for(uow, engine.settings, desk.policy, shop.DIGEST_RECIPIENT, None, desk.clock.now())

    def count() -> int:
        with desk.uow.read_only() as uow:
            return uow.tickets.count()

    sweeps = digests = fired = 0
    sweep_s: list[float] = []
    digest_s: list[float] = []
    errors: list[str] = []
    while not stop.is_set():
        t0 = time.perf_counter()
        try:  # like the scheduler: a failed run is logged and retried at the next tick
            report = await asyncio.to_thread(sweep, desk)
            fired += len(report.fired)
            sweeps += 1
        except asyncio.CancelledError:
            if stop.is_set():  # still queued when the bench dropped the backlog
                break
            raise
        except Exception as exc:
            errors.append(f"sweep: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        sweep_s.append(time.perf_counter() - t0)
        if stop.is_set():
            break
        t0 = time.perf_counter()
        try:
            await asyncio.to_thread(digest)
            digests += 1
        except asyncio.CancelledError:
            if stop.is_set():
                break
            raise
        except Exception as exc:
            errors.append(f"digest: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        digest_s.append(time.perf_counter() - t0)
        try:
            await asyncio.wait_for(stop.wait(), PAUSE_S)
        except TimeoutError:
            pass
    try:
        tickets = await asyncio.to_thread(count)
    except Exception:
        tickets = 0
    return {"sweeps": sweeps, "digests": digests, "alerts_fired": fired, "tickets": tickets,
            "sweep_s": sweep_s, "digest_s": digest_s, "errors": errors}
