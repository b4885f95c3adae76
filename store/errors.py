"""Store errors the core understands without knowing SQLAlchemy."""


class DuplicateDelivery(Exception):
    """The same platform delivery was already handled (a UNIQUE dedup key hit)."""


class StoreUnavailable(Exception):
    """The database could not be reached or migrated."""
