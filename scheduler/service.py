"""APScheduler 3 in the bot's event loop: the SLA sweep every few seconds and the digest check.

Deadlines live in the database (one indexed column), so there is one interval job per kind of work,
never one job per ticket; the jobs run the synchronous core in a worker thread. On start, before the first
sweep, one catch-up pass gives open tickets the deadlines of the current policy (see handlers.sla.catch_up).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.desk import Desk
from handlers.sla.engine import install
from handlers.sla.policy import SlaSettings
from scheduler.jobs import catch_up, send_due_digests, sweep
from scheduler.settings import load_sla

log = logging.getLogger("afterdesk.scheduler")


class SchedulerService:
    """Started and stopped with the runtime; `start()` must run inside the event loop."""

    def __init__(self, desk: Desk, settings: SlaSettings) -> None:
        self.desk = desk
        self.settings = settings
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        # Once per start, before the first sweep: tickets opened before [sla] was on, or whose targets
        # changed since, get the current policy's deadlines, so their reminders fire on time.
        await self._run(catch_up, "SLA catch-up")
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None, "next_run_time": now}
        # Always on (follow-ups need it even without SLA targets); with nothing due it is one indexed query.
        # It runs at once on start: whatever fell due while the bot was down fires now, marked late.
        scheduler.add_job(self._run, "interval", args=[sweep, "SLA sweep"], id="sla-sweep",
                          seconds=self.settings.sweep_seconds, **common)
        if self.settings.digests:
            scheduler.add_job(self._run, "interval", args=[send_due_digests, "digests"], id="digests",
                              seconds=self.settings.digest_check_seconds, **common)
        scheduler.start()
        self.scheduler = scheduler
        log.info("scheduler started: sweep every %ss, %s digest recipient(s)",
                 self.settings.sweep_seconds, len(self.settings.digests))

    async def _run(self, job: Callable[[Desk], Any], name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            result = await asyncio.to_thread(job, self.desk)
            log.debug("%s: %s", name, result)
        except Exception:
            # The next tick retries; a database hiccup must not kill the scheduler.
            log.exception("%s failed; retrying at the next tick", name)
        finally:
            if task is not None:
                self._running.discard(task)

    async def stop(self) -> None:
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
