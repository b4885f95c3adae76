"""Alembic environment: the engine comes from the caller (store.migrate), never from a file."""
from alembic import context

from store.models import Base
import store.sla_models  # noqa: F401

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
