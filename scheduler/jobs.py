"""The scheduler's jobs: plain synchronous functions over the desk (tests call them directly)."""
from handlers.sla.digest import send_due_digests
from handlers.sla.sweep import SweepReport, sweep

__all__ = ["SweepReport", "send_due_digests", "sweep"]
