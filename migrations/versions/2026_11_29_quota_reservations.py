"""quota reservations of running requests; usage event outcomes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quota_reservations",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("characters", sa.BigInteger(), nullable=False),
        sa.Column("audio_ms", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("voice", sa.String(100), nullable=True),
        sa.Column("language", sa.String(20), nullable=True),
        sa.Column("client_ip", sa.String(45), nullable=True),
        sa.Column("text_hash", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_reservations")),
    )
    for column in ("account_id", "owner", "lease_expires_at"):
        op.create_index(op.f(f"ix_quota_reservations_{column}"), "quota_reservations", [column])
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("outcome")
    for column in ("account_id", "owner", "lease_expires_at"):
        op.drop_index(op.f(f"ix_quota_reservations_{column}"), table_name="quota_reservations")
    op.drop_table("quota_reservations")
