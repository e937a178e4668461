"""stripe billing: subscriptions on accounts, stripe events, usage reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("stripe_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
    )
    with op.batch_alter_table("billing_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_events_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_events_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    op.create_table(
        "billing_usage_reports",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("characters", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_usage_reports")),
        sa.UniqueConstraint(
            "account_id",
            "period_start",
            "hour_start",
            name=op.f("uq_billing_usage_reports_account_id"),
        ),
    )
    with op.batch_alter_table("billing_usage_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_usage_reports_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_usage_reports_next_attempt_at"),
            ["next_attempt_at"],
            unique=False,
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscription_status", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("subscribed_plan", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("billing_period_start", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("billing_period_end", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("payment_overdue_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("plan_ends_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("spend_cap_cents", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("spend_cap_cents")
        batch_op.drop_column("plan_ends_at")
        batch_op.drop_column("payment_overdue_since")
        batch_op.drop_column("billing_period_end")
        batch_op.drop_column("billing_period_start")
        batch_op.drop_column("subscribed_plan")
        batch_op.drop_column("subscription_status")

    with op.batch_alter_table("billing_usage_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_usage_reports_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_billing_usage_reports_account_id"))

    op.drop_table("billing_usage_reports")
    with op.batch_alter_table("billing_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_events_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_billing_events_account_id"))

    op.drop_table("billing_events")
