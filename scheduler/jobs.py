"""The scheduler's jobs: plain synchronous functions over the desk (tests call them directly)."""
from handlers.sla.catch_up import CatchUpReport, catch_up
from handlers.sla.digest import send_due_digests
from handlers.sla.sweep import SweepReport, sweep

__all__ = ["CatchUpReport", "SweepReport", "catch_up", "send_due_digests", "sweep"]
