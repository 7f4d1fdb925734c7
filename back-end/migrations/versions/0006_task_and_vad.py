"""Whisper's task (transcribe or translate) and whether VAD skips silence, per job

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("task", sa.String(16), nullable=False, server_default="transcribe"))
        batch.add_column(sa.Column("vad", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("vad")
        batch.drop_column("task")
