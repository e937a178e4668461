"""The audit trail: every administrative change leaves a row, in the change's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts import service as accounts
from vocalis.accounts.models import Account, ApiKey
from vocalis.admin.models import AuditEntry


async def audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    now: datetime,
    details: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            created_at=now,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=_jsonable(details or {}),
            client_ip=client_ip,
        )
    )
    await session.flush()


async def audit_trail(
    session: AsyncSession, *, limit: int, offset: int, target_id: str | None = None
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in details.items()
    }


# --- changes made by an operator, each with its audit row -----------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the audit trail names them."""

    name: str  # a key id, or "cli"
    client_ip: str | None = None


async def create_account(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    plan: str,
    limits: accounts.AccountLimits,
    plans: list[str],
    now: datetime,
    details: dict[str, Any],
) -> Account:
    account = await accounts.create_account(
        session, email, now=now, plans=plans, plan=plan, limits=limits
    )
    await _audit_change(session, actor, "account.create", "account", account.id, now, details)
    return account


async def update_account(
    session: AsyncSession,
    actor: Actor,
    account_id: str,
    *,
    plan: str | None,
    status: str | None,
    limits: accounts.AccountLimits,
    plans: list[str],
    now: datetime,
    details: dict[str, Any],
) -> Account:
    account = await accounts.update_account(
        session, account_id, now=now, plans=plans, plan=plan, status=status, limits=limits
    )
    await _audit_change(session, actor, "account.update", "account", account.id, now, details)
    return account


async def create_key(
    session: AsyncSession,
    actor: Actor,
    account_id: str,
    *,
    options: accounts.KeyOptions,
    pepper: str,
    now: datetime,
    details: dict[str, Any],
) -> tuple[ApiKey, str]:
    owner = await accounts.get_account(session, account_id)
    key, secret = await accounts.create_api_key(
        session, owner, pepper=pepper, now=now, options=options
    )
    await _audit_change(session, actor, "key.create", "key", key.id, now, details)
    return key, secret


async def revoke_key(session: AsyncSession, actor: Actor, key_id: str, *, now: datetime) -> ApiKey:
    key = await accounts.revoke_api_key(session, key_id, now=now)
    await _audit_change(session, actor, "key.revoke", "key", key.id, now, None)
    return key


async def _audit_change(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    now: datetime,
    details: dict[str, Any] | None,
) -> None:
    await audit(
        session,
        actor=actor.name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now,
        details=details,
        client_ip=actor.client_ip,
    )
