"""Store errors the core understands without knowing SQLAlchemy."""


class DuplicateDelivery(Exception):
    """The same platform delivery was already handled (a UNIQUE dedup key hit)."""

