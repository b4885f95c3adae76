"""The command bus: importing this registers every use case; `execute` runs one command."""
from handlers import changes, comments, tickets  # noqa: F401  (registration by import)
from handlers.sla import usecases as _sla_usecases  # noqa: F401  (SLA: ack, remind)
from handlers.desk import HANDLERS, Desk, execute, execute_batch

__all__ = ["Desk", "HANDLERS", "execute", "execute_batch"]
