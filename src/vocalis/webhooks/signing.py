"""Signing secrets and signatures (Standard Webhooks): how receivers know an event is ours.

Each account has one `whsec_…` secret, made on first use. Rotating it keeps the previous one
signing alongside for an overlap, so receivers can switch without missing an event.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from vocalis.kit.db import insert_missing
from vocalis.webhooks.models import WebhookSecret

SECRET_PREFIX = "whsec_"


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


async def signing_secret(session: AsyncSession, account_id: str, now: datetime) -> WebhookSecret:
    """The account's secret, created on first use (safe when two requests race to create it)."""
    await insert_missing(
        session,
        WebhookSecret.__table__,
        {"account_id": account_id, "secret": new_signing_secret(), "created_at": now},
        keys=["account_id"],
    )
    record = await session.scalar(
        select(WebhookSecret)
        .where(WebhookSecret.account_id == account_id)
        .execution_options(populate_existing=True)
    )
    assert record is not None
    return record


async def rotate_signing_secret(
    session: AsyncSession, account_id: str, now: datetime, overlap: timedelta
) -> WebhookSecret:
    """A new secret at once; the old one keeps signing (alongside) until the overlap ends."""
    record = await signing_secret(session, account_id, now)
    record.previous_secret = record.secret
    record.previous_expires_at = now + overlap
    record.secret = new_signing_secret()
    record.rotated_at = now
    await session.flush()
    return record


def secrets_in_use(record: WebhookSecret, now: datetime) -> list[str]:
    previous = record.previous_secret
    if previous and record.previous_expires_at and now < record.previous_expires_at:
        return [record.secret, previous]
    return [record.secret]


def sign(secrets_to_use: list[str], webhook_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret, space-separated."""
    return " ".join(Webhook(secret).sign(webhook_id, timestamp, body) for secret in secrets_to_use)
