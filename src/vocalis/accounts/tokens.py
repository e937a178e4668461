"""Single-use tokens mailed to people: verify an address, reset a password, confirm a new address.

Only a keyed hash of a token is stored, so a copy of the database spends none. Issuing a token
deletes the account's earlier unused ones of the same purpose: only the latest link works.
Spending is one conditional UPDATE (`used_at IS NULL AND expires_at > now`) whose row count
decides, so two concurrent uses of one link cannot both succeed. Every refusal says the same
thing, so a link's state (unknown, used, expired, for something else) is not revealed.
Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.keys import hash_api_key
from vocalis.accounts.models import AccountToken
from vocalis.kit.errors import InvalidInput

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
CHANGE_EMAIL = "change_email"
LIFETIMES: dict[str, timedelta] = {
    VERIFY_EMAIL: timedelta(hours=24),
    RESET_PASSWORD: timedelta(hours=1),  # short: it opens the account to whoever holds it
    CHANGE_EMAIL: timedelta(hours=24),
}


class InvalidToken(InvalidInput):
    """A link that cannot be used, whatever the reason (one message for all of them)."""

    code = "invalid_token"

    def __init__(self, detail: str = "this link is invalid or has expired; ask for a new one"):
        super().__init__(detail)


async def issue_token(
    session: AsyncSession,
    *,
    account_id: str,
    purpose: str,
    now: datetime,
    pepper: str,
    new_email: str | None = None,
) -> str:
    """A new token for `purpose` (the raw value, for the mail; only its hash is stored).
    `new_email` is the address a `change_email` token confirms, and only that purpose's."""
    lifetime = LIFETIMES.get(purpose)
    if lifetime is None:
        raise ValueError(f"unknown token purpose: {purpose!r}")
    if (new_email is not None) != (purpose == CHANGE_EMAIL):
        raise ValueError("new_email goes with change_email tokens, and only with them")
    await session.execute(
        delete(AccountToken).where(
            AccountToken.account_id == account_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            account_id=account_id,
            purpose=purpose,
            token_hash=hash_api_key(token, pepper),
            new_email=new_email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


async def spend_token(
    session: AsyncSession, raw_token: str, *, purpose: str, now: datetime, pepper: str
) -> AccountToken:
    """Use a token once: marks it used and returns its row (account_id, new_email), or raises
    InvalidToken when it is unknown, already used, expired or meant for another purpose."""
    digest = hash_api_key(raw_token, pepper)
    spent = await session.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == digest,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if (cast(CursorResult[Any], spent).rowcount or 0) != 1:
        raise InvalidToken()
    reread = select(AccountToken).where(AccountToken.token_hash == digest)
    # populate_existing: this session may hold the row from before the UPDATE.
    return (await session.scalars(reread.execution_options(populate_existing=True))).one()


async def last_issued_at(
    session: AsyncSession, *, account_id: str, purpose: str
) -> datetime | None:
    """When the account was last sent a token for `purpose` (for a resend cooldown)."""
    return await session.scalar(
        select(AccountToken.created_at)
        .where(AccountToken.account_id == account_id, AccountToken.purpose == purpose)
        .order_by(AccountToken.created_at.desc())
        .limit(1)
    )
