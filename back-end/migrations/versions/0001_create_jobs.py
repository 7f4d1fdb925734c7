"""create jobs

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("audio_url", sa.String(1024), nullable=False),
        sa.Column("audio_format", sa.String(16), nullable=False),
        sa.Column("audio_bytes", sa.Integer, nullable=False),
        sa.Column("original_filename", sa.String(255), nullable=True),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("current_step", sa.String(32), nullable=True),
        sa.Column("retry_count", sa.Integer, nullable=False),
        sa.Column("worker_id", sa.String(255), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("audio_duration_s", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at"])
    op.create_index("ix_jobs_status_completed", "jobs", ["status", "completed_at"])


def downgrade() -> None:
    op.drop_table("jobs")
