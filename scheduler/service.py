"""APScheduler 3 in the bot's event loop: the SLA sweep every few seconds and the digest check.

Deadlines live in the database (one indexed column), so there is one interval job per kind of work,
never one job per ticket; the jobs run the synchronous core in a worker thread. The first job is one
catch-up pass that gives open tickets the deadlines of the current policy (see handlers.sla.catch_up); it
runs in the background, so the bot is up at once however large the backlog, and the sweep and digest jobs
start when it ends — a reminder goes out by the current policy's deadline, after a stale one was cleared.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, UTC
from functools import partial
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.desk import Desk
from handlers.sla.engine import install
from handlers.sla.policy import SlaSettings
from scheduler.jobs import catch_up, send_due_digests, sweep
from scheduler.settings import load_sla

log = logging.getLogger("afterdesk.scheduler")

CATCH_UP_DONE = "SLA catch-up done"  # logged when the sweeps start (the benchmark waits for it)


class SchedulerService:
    """Started and stopped with the runtime; `start()` must run inside the event loop."""

    def __init__(self, desk: Desk, settings: SlaSettings) -> None:
        self.desk = desk
        self.settings = settings
        self.scheduler: AsyncIOScheduler | None = None
        # Jobs' work in its worker thread, awaited on stop (the scheduler's shutdown only cancels the waiting).
        self._running: set[asyncio.Future[Any]] = set()
        self._stopping = threading.Event()
        self.caught_up = asyncio.Event()  # set when the start-up catch-up ended and the other jobs began

    async def start(self) -> None:
        self._stopping.clear()
        self.caught_up = asyncio.Event()
        scheduler = AsyncIOScheduler(timezone=UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(self._catch_up, "date", run_date=datetime.now(UTC), id="sla-catch-up",
                          misfire_grace_time=None)
        # Added paused (no next run time): _catch_up starts them. Always on (follow-ups need it even without
        # SLA targets); with nothing due it is one indexed query. Its first run fires whatever fell due while
        # the bot was down, marked late.
        scheduler.add_job(self._run, "interval", args=[sweep, "SLA sweep"], id="sla-sweep",
                          seconds=self.settings.sweep_seconds, next_run_time=None, **common)
        if self.settings.digests:
            scheduler.add_job(self._run, "interval", args=[send_due_digests, "digests"], id="digests",
                              seconds=self.settings.digest_check_seconds, next_run_time=None, **common)
        scheduler.start()
        self.scheduler = scheduler
        log.info("scheduler started: sweep every %ss, %s digest recipient(s); SLA catch-up running",
                 self.settings.sweep_seconds, len(self.settings.digests))

    async def _catch_up(self) -> None:
        """Once per start, before the first sweep: tickets opened before [sla] was on, or whose targets
        changed since, get the current policy's deadlines, so their reminders fire on time."""
        started = time.monotonic()
        report = await self._run(partial(catch_up, stop=self._stopping.is_set), "SLA catch-up",
                                 "the sweeps start anyway; open tickets keep their stored deadlines")
        if self._stopping.is_set() or self.scheduler is None:
            return
        now = datetime.now(UTC)
        for job in self.scheduler.get_jobs():
            if job.next_run_time is None:
                job.modify(next_run_time=now)
        outcome = f"{report.checked} open ticket(s) checked" if report is not None else "it failed (see above)"
        log.info("%s: %s in %.1f s; sweeps start now", CATCH_UP_DONE, outcome, time.monotonic() - started)
        self.caught_up.set()

    async def _run(self, job: Callable[[Desk], Any], name: str, on_failure: str = "retrying at the next tick"
                   ) -> Any:
        work = asyncio.ensure_future(asyncio.to_thread(self._guarded, job, name, on_failure))
        self._running.add(work)
        work.add_done_callback(self._running.discard)
        try:
            # Shielded: the scheduler's shutdown cancels this wait, not the transaction in flight (stop()
            # waits for that), and a job cut short that way is no error.
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            return None
        finally:
            if work.done():
                self._running.discard(work)

    def _guarded(self, job: Callable[[Desk], Any], name: str, on_failure: str) -> Any:
        try:
            result = job(self.desk)
        except Exception:
            # A database hiccup must not kill the scheduler.
            log.exception("%s failed; %s", name, on_failure)
            return None
        log.debug("%s: %s", name, result)
        return result

    async def stop(self) -> None:
        self._stopping.set()  # a catch-up in flight ends after its current batch
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        # A job already in its worker thread finishes its transaction before the engine is disposed.
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self.scheduler = None


def build_scheduler(runtime: Any) -> SchedulerService | None:
    """Called by bot.bootstrap.build with its Runtime: plug the SLA engine into the desk, return the service.

    None when the config has neither [sla] nor [digest]; SlaConfigError (a ValueError naming the key)
    when they are wrong.
    """
    settings = load_sla(runtime.config)
    if settings is None:
        return None
    install(runtime.desk, settings)
    return SchedulerService(runtime.desk, settings)
