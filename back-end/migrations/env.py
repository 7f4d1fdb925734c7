"""Alembic environment: the engine `db.engine.migrate` passes in, or the one `DATABASE_URL` names."""

from alembic import context

from core.settings import get_settings
from db.engine import get_engine
from db.models import Base

engine = context.config.attributes.get("engine") or get_engine(get_settings().sqlalchemy_url)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
