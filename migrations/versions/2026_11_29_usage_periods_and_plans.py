"""usage periods hold the counters; accounts keep a plan and their own allowances only

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

The counters move from `accounts` (chars_used, audio_ms_used, period_start, period_end) and
`api_keys` (period_chars_used) into `usage_periods`, one row per account and period (key_id
'') and one per key and period. What running requests and unfinished jobs had reserved (the old
counters included it) becomes `*_reserved`, so settling or refunding them after the upgrade
moves exactly what they took. `accounts.char_limit` and `seconds_limit` stay, as the account's
own allowances: each account keeps the limits it had.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What requests and jobs still hold, per account (or key) and period.
_HELD = """
    SELECT {who}, period_start, SUM(characters) AS chars, SUM(audio_ms) AS ms
    FROM (
        SELECT account_id, key_id, period_start, characters, audio_ms FROM quota_reservations
        UNION ALL
        SELECT account_id, key_id, quota_period_start, characters, estimated_audio_ms FROM jobs
        WHERE status IN ('queued', 'running')
    ) AS held
    GROUP BY {who}, period_start
"""

_ACCOUNT_ROWS = f"""
    INSERT INTO usage_periods (account_id, key_id, period_start, period_end, chars_used,
                               audio_ms_used, chars_reserved, audio_ms_reserved)
    SELECT a.id, '', a.period_start, a.period_end,
           a.chars_used - COALESCE(h.chars, 0), a.audio_ms_used - COALESCE(h.ms, 0),
           COALESCE(h.chars, 0), COALESCE(h.ms, 0)
    FROM accounts AS a
    LEFT JOIN ({_HELD.format(who="account_id")}) AS h
        ON h.account_id = a.id AND h.period_start = a.period_start
    WHERE a.period_start IS NOT NULL AND a.period_end IS NOT NULL
"""

_KEY_ROWS = f"""
    INSERT INTO usage_periods (account_id, key_id, period_start, period_end, chars_used,
                               audio_ms_used, chars_reserved, audio_ms_reserved)
    SELECT k.account_id, k.id, a.period_start, a.period_end,
           k.period_chars_used - COALESCE(h.chars, 0), 0, COALESCE(h.chars, 0), 0
    FROM api_keys AS k
    JOIN accounts AS a ON a.id = k.account_id
    LEFT JOIN ({_HELD.format(who="key_id")}) AS h
        ON h.key_id = k.id AND h.period_start = a.period_start
    WHERE a.period_start IS NOT NULL AND a.period_end IS NOT NULL
"""


def upgrade() -> None:
    op.create_table(
        "usage_periods",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chars_used", sa.BigInteger(), nullable=False),
        sa.Column("audio_ms_used", sa.BigInteger(), nullable=False),
        sa.Column("chars_reserved", sa.BigInteger(), nullable=False),
        sa.Column("audio_ms_reserved", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_periods")),
        sa.UniqueConstraint(
            "account_id", "key_id", "period_start", name=op.f("uq_usage_periods_row")
        ),
    )
    op.execute(_ACCOUNT_ROWS)
    op.execute(_KEY_ROWS)
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("char_limit", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("seconds_limit", existing_type=sa.BigInteger(), nullable=True)
        for column in ("chars_used", "audio_ms_used", "period_start", "period_end"):
            batch.drop_column(column)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("period_chars_used")


def downgrade() -> None:
    """Counters go back onto the rows of the latest period, reservations included (as before);
    accounts following their plan get the plan's allowance written out as their limits."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("period_chars_used", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("chars_used", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("audio_ms_used", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("period_start", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("period_end", sa.DateTime(timezone=True), nullable=True))
    latest = """(SELECT MAX(p2.period_start) FROM usage_periods AS p2
                 WHERE p2.account_id = p.account_id AND p2.key_id = p.key_id)"""
    op.execute(
        f"""UPDATE accounts SET
            chars_used = COALESCE((SELECT p.chars_used + p.chars_reserved FROM usage_periods p
                WHERE p.account_id = accounts.id AND p.key_id = ''
                AND p.period_start = {latest}), 0),
            audio_ms_used = COALESCE((SELECT p.audio_ms_used + p.audio_ms_reserved
                FROM usage_periods p WHERE p.account_id = accounts.id AND p.key_id = ''
                AND p.period_start = {latest}), 0),
            period_start = (SELECT p.period_start FROM usage_periods p
                WHERE p.account_id = accounts.id AND p.key_id = ''
                AND p.period_start = {latest}),
            period_end = (SELECT p.period_end FROM usage_periods p
                WHERE p.account_id = accounts.id AND p.key_id = ''
                AND p.period_start = {latest})"""
    )
    op.execute(
        f"""UPDATE api_keys SET period_chars_used = COALESCE((
            SELECT p.chars_used + p.chars_reserved FROM usage_periods p
            WHERE p.key_id = api_keys.id AND p.period_start = {latest}), 0)"""
    )
    # Free's allowance (10,000 characters, 667 s at 15 characters a second) for accounts that
    # followed a plan: the old schema needs a number.
    op.execute("UPDATE accounts SET char_limit = 10000 WHERE char_limit IS NULL")
    op.execute("UPDATE accounts SET seconds_limit = 667 WHERE seconds_limit IS NULL")
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("char_limit", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("seconds_limit", existing_type=sa.BigInteger(), nullable=False)
    op.drop_table("usage_periods")
