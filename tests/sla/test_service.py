"""The APScheduler service: built by the bootstrap, one interval job per kind of work, clean stop."""
from __future__ import annotations

import logging

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.sla.engine import engine_for
from scheduler.service import SchedulerService
from tests.sla.conftest import SLA, Shop, sla_runtime


@pytest.mark.asyncio
async def test_bootstrap_builds_the_service_with_a_sweep_and_a_digest_job(sqlite_url, clock):
    rt = sla_runtime(sqlite_url, clock, sla={**SLA, "sweep_seconds": 2},
                     digest={"check_seconds": 20, "recipients": {"chen": {"person": "boss"}}})
    try:
        [service] = rt.services
        assert isinstance(service, SchedulerService)
        assert engine_for(rt.desk) is not None and rt.desk.clock_views is not None
        await service.start()
        assert isinstance(service.scheduler, AsyncIOScheduler) and service.scheduler.running
        # Ready at once: the catch-up is the first job, and the others wait for it (paused: no next run).
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        assert set(jobs) == {"sla-catch-up", "sla-sweep", "digests"}
        assert jobs["sla-sweep"].next_run_time is None and jobs["digests"].next_run_time is None
        await service.caught_up.wait()
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        assert set(jobs) == {"sla-sweep", "digests"}
        assert jobs["sla-sweep"].next_run_time is not None and jobs["digests"].next_run_time is not None
        assert jobs["sla-sweep"].trigger.interval.total_seconds() == 2
        assert jobs["digests"].trigger.interval.total_seconds() == 20
        assert jobs["sla-sweep"].max_instances == 1 and jobs["sla-sweep"].coalesce
        await service.stop()
        assert service.scheduler is None
    finally:
        rt.engine.dispose()


@pytest.mark.asyncio
async def test_a_job_runs_the_synchronous_core_in_a_thread(sqlite_url, clock, caplog):
    rt = sla_runtime(sqlite_url, clock)
    try:
        shop = Shop(rt, clock)
        shop.run("xiaomei", "PC blue screens category:hardware")
        clock.advance(minutes=45)
        [service] = rt.services
        seen = []
        from scheduler.jobs import sweep

        await service._run(lambda desk: seen.append(sweep(desk)), "SLA sweep")
        assert seen[0].fired == [(1001, "first_response.warn", False)]

        def broken(desk):  # type: ignore[no-untyped-def]
            raise RuntimeError("database went away")

        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="afterdesk.scheduler"):
            await service._run(broken, "SLA sweep")  # logged; the scheduler keeps going
        [record] = [r for r in caplog.records if r.name == "afterdesk.scheduler"]
        assert (record.levelno, record.getMessage()) == (logging.ERROR, "SLA sweep failed; retrying at the next tick")
        assert record.exc_info is not None and str(record.exc_info[1]) == "database went away"
        assert not service._running  # the failed run is not left behind as in flight
    finally:
        rt.engine.dispose()


@pytest.mark.asyncio
async def test_a_failed_catch_up_is_logged_and_the_sweeps_start_anyway(sqlite_url, clock, caplog, monkeypatch):
    import scheduler.service

    def broken(desk, stop):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(scheduler.service, "catch_up", broken)
    rt = sla_runtime(sqlite_url, clock)
    try:
        [service] = rt.services
        with caplog.at_level(logging.INFO, logger="afterdesk.scheduler"):
            await service.start()
            await service.caught_up.wait()
            assert service.scheduler.get_job("sla-sweep").next_run_time is not None
            await service.stop()
        messages = [r.getMessage() for r in caplog.records if r.name == "afterdesk.scheduler"]
        assert "SLA catch-up failed; the sweeps start anyway; open tickets keep their stored deadlines" in messages
        assert any(m.startswith("SLA catch-up done: it failed (see above)") for m in messages)
    finally:
        rt.engine.dispose()
