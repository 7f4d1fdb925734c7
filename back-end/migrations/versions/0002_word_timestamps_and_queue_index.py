"""word timestamps option; index for queue positions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("word_timestamps", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_jobs_status_queue_created", "jobs", ["status", "queue", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_queue_created", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("word_timestamps")
