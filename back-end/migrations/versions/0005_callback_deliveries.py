"""client callbacks: deliveries and their attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts_made", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callback_deliveries_state_next", "callback_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_callback_deliveries_job", "callback_deliveries", ["job_id", "created_at"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id",
            sa.String(64),
            sa.ForeignKey("callback_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("delivery_id", "attempt", name="uq_callback_attempts_delivery_attempt"),
    )


def downgrade() -> None:
    op.drop_table("callback_attempts")
    op.drop_index("ix_callback_deliveries_job", "callback_deliveries")
    op.drop_index("ix_callback_deliveries_state_next", "callback_deliveries")
    op.drop_table("callback_deliveries")
