"""Changes an operator makes (admin API and CLI alike), each with its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts import passwords, websessions
from vocalis.accounts import service as accounts
from vocalis.accounts.models import Account, ApiKey
from vocalis.kit.audit import audit

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
    clear: list[str] | None = None,
) -> Account:
    account = await accounts.update_account(
        session,
        account_id,
        now=now,
        plans=plans,
        plan=plan,
        status=status,
        limits=limits,
        clear=clear or (),
    )
    await _audit_change(session, actor, "account.update", "account", account.id, now, details)
    return account


async def set_operator(
    session: AsyncSession, actor: Actor, account_id: str, operator: bool, *, now: datetime
) -> Account:
    """Give an account the operator's rights on the web (or take them away); its sessions pick
    the change up on their next request."""
    account = await accounts.get_account(session, account_id)
    account.is_admin = operator
    account.updated_at = now
    action = "account.operator_granted" if operator else "account.operator_revoked"
    await _audit_change(session, actor, action, "account", account.id, now, None)
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


async def set_password(
    session: AsyncSession,
    actor: Actor,
    account_id: str,
    password: str,
    *,
    cost: int,
    now: datetime,
) -> Account:
    """Give an account a password (for the web login), under the same rules as a person's
    own; every web session of the account ends."""
    account = await accounts.get_account(session, account_id)
    passwords.check_strength(password, email=account.email)
    account.password_hash = await passwords.hash_password(password, cost)
    account.updated_at = now
    await websessions.end_other_sessions(session, account_id=account.id, keep_session_id=None)
    await _audit_change(session, actor, "account.set_password", "account", account.id, now, None)
    return account


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
