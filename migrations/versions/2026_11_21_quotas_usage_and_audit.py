"""quotas, usage events and aggregates, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("char_limit", sa.BigInteger(), nullable=False, server_default="100000")
        )
        batch.add_column(
            sa.Column("seconds_limit", sa.BigInteger(), nullable=False, server_default="6000")
        )
        batch.add_column(
            sa.Column("chars_used", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("audio_ms_used", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("period_start", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("period_end", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("period_chars_used", sa.BigInteger(), nullable=False, server_default="0")
        )

    op.create_table(
        "usage_events",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("voice", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("characters", sa.BigInteger(), nullable=False),
        sa.Column("audio_ms", sa.BigInteger(), nullable=False),
        sa.Column("audio_bytes", sa.BigInteger(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("text_hash", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
    )
    op.create_index("ix_usage_events_account_created", "usage_events", ["account_id", "created_at"])
    op.create_index(op.f("ix_usage_events_key_id"), "usage_events", ["key_id"])

    op.create_table(
        "usage_daily",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("voice", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("characters", sa.BigInteger(), nullable=False),
        sa.Column("audio_ms", sa.BigInteger(), nullable=False),
        sa.Column("audio_bytes", sa.BigInteger(), nullable=False),
        sa.Column("cache_hits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_daily")),
        sa.UniqueConstraint(
            "account_id", "day", "key_id", "endpoint", "voice", "language", "status_code",
            name="uq_usage_daily_bucket",
        ),
    )  # fmt: skip
    op.create_index("ix_usage_daily_day", "usage_daily", ["day"])

    op.create_table(
        "audit_log",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"])
    op.create_index(op.f("ix_audit_log_target_id"), "audit_log", ["target_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("usage_daily")
    op.drop_table("usage_events")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("period_chars_used")
    with op.batch_alter_table("accounts") as batch:
        for column in (
            "period_end",
            "period_start",
            "audio_ms_used",
            "chars_used",
            "seconds_limit",
            "char_limit",
        ):
            batch.drop_column(column)
