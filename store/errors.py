"""Store errors the core understands without knowing SQLAlchemy."""


class DatabaseProblem(Exception):
    """The database cannot be used as configured; the message says why and what to do."""


class DuplicateDelivery(Exception):
    """The same platform delivery was already handled (a UNIQUE dedup key hit)."""

