"""Operator API (scope `admin`): accounts, keys, platform statistics, and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from vocalis.accounts import service as accounts
from vocalis.accounts.auth import Admin
from vocalis.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    KeyCreate,
    KeyCreated,
    KeyOut,
)
from vocalis.admin.schemas import AuditOut, PlatformStats
from vocalis.admin.service import audit, audit_trail
from vocalis.api.deps import ClockDep, SessionDep, SettingsDep, UsageRecorderDep, WriteSessionDep
from vocalis.jobs.schemas import QueueStats
from vocalis.jobs.service import queue_stats
from vocalis.kit.pagination import Page, PageDep
from vocalis.usage.router import Days
from vocalis.usage.schemas import UsageSummary
from vocalis.usage.service import platform_stats, usage_summary

router = APIRouter(prefix="/admin/api", tags=["admin"])


def _audit_context(request: Request, admin: accounts.Principal) -> dict[str, str | None]:
    return {"actor": admin.key_id, "client_ip": request.state.client_ip}


@router.post("/accounts", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
async def create_account(
    body: AccountCreate,
    request: Request,
    admin: Admin,
    session: WriteSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> AccountOut:
    now = clock.now()
    account = await accounts.create_account(
        session,
        body.email,
        now=now,
        plan=body.plan,
        limits=accounts.AccountLimits(body.char_limit, body.seconds_limit),
        default_limits=accounts.AccountLimits(
            settings.default_char_limit, settings.default_seconds_limit
        ),
    )
    await audit(
        session,
        action="account.create",
        target_type="account",
        target_id=account.id,
        now=now,
        details=body.model_dump(),
        **_audit_context(request, admin),
    )
    return AccountOut.model_validate(account)


@router.get("/accounts", response_model=Page[AccountOut])
async def list_accounts(
    _admin: Admin,
    session: SessionDep,
    page: PageDep,
    email: Annotated[str | None, Query(description="Part of the email address")] = None,
) -> Page[AccountOut]:
    rows, total = await accounts.list_accounts(
        session, limit=page.limit, offset=page.offset, email=email
    )
    data = [AccountOut.model_validate(row) for row in rows]
    return page.page(data, total)


@router.get("/accounts/{account_id}", response_model=AccountOut)
async def get_account(account_id: str, _admin: Admin, session: SessionDep) -> AccountOut:
    return AccountOut.model_validate(await accounts.get_account(session, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
async def update_account(
    account_id: str,
    body: AccountUpdate,
    request: Request,
    admin: Admin,
    session: WriteSessionDep,
    clock: ClockDep,
) -> AccountOut:
    now = clock.now()
    account = await accounts.update_account(
        session,
        account_id,
        now=now,
        plan=body.plan,
        status=body.status,
        limits=accounts.AccountLimits(body.char_limit, body.seconds_limit),
    )
    await audit(
        session,
        action="account.update",
        target_type="account",
        target_id=account.id,
        now=now,
        details=body.model_dump(exclude_unset=True),
        **_audit_context(request, admin),
    )
    return AccountOut.model_validate(account)


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
async def create_key(
    body: KeyCreate,
    request: Request,
    admin: Admin,
    session: WriteSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> KeyCreated:
    now = clock.now()
    owner = await accounts.get_account(session, body.account_id)
    key, secret = await accounts.create_api_key(
        session,
        owner,
        pepper=settings.key_pepper.get_secret_value(),
        now=now,
        options=accounts.KeyOptions(
            name=body.name,
            scopes=tuple(body.scopes),
            rate_limit_rpm=body.rate_limit_rpm,
            monthly_char_cap=body.monthly_char_cap,
            allowed_voices=tuple(body.allowed_voices) if body.allowed_voices is not None else None,
            allowed_cidrs=tuple(body.allowed_cidrs) if body.allowed_cidrs is not None else None,
            expires_at=body.expires_at,
        ),
    )
    await audit(
        session,
        action="key.create",
        target_type="key",
        target_id=key.id,
        now=now,
        details=body.model_dump(mode="json"),
        **_audit_context(request, admin),
    )
    return KeyCreated(key=KeyOut.from_key(key, now), secret=secret)


@router.get("/keys", response_model=Page[KeyOut])
async def list_keys(
    _admin: Admin,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    account_id: Annotated[str | None, Query()] = None,
) -> Page[KeyOut]:
    keys, total = await accounts.page_api_keys(
        session, account_id, limit=page.limit, offset=page.offset
    )
    now = clock.now()
    return page.page([KeyOut.from_key(key, now) for key in keys], total)


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke a key (the row is kept)")
async def revoke_key(
    key_id: str, request: Request, admin: Admin, session: WriteSessionDep, clock: ClockDep
) -> KeyOut:
    now = clock.now()
    key = await accounts.revoke_api_key(session, key_id, now=now)
    await audit(
        session,
        action="key.revoke",
        target_type="key",
        target_id=key.id,
        now=now,
        **_audit_context(request, admin),
    )
    return KeyOut.from_key(key, now)


@router.get("/keys/{key_id}/usage", response_model=UsageSummary, response_model_by_alias=True)
async def key_usage(
    key_id: str,
    _admin: Admin,
    session: SessionDep,
    clock: ClockDep,
    recorder: UsageRecorderDep,
    days: Days = 30,
) -> dict:
    key = await accounts.get_api_key(session, key_id)
    await recorder.flush()
    return await usage_summary(
        session, days=days, today=clock.now().date(), account_id=key.account_id, key_id=key.id
    )


@router.get("/stats", response_model=PlatformStats, response_model_by_alias=True)
async def stats(
    _admin: Admin, session: SessionDep, clock: ClockDep, recorder: UsageRecorderDep, days: Days = 30
) -> dict:
    await recorder.flush()
    return await platform_stats(session, days=days, today=clock.now().date())


@router.get("/queue", response_model=QueueStats, summary="Jobs by status, queue age, workers")
async def queue(_admin: Admin, session: SessionDep, clock: ClockDep) -> dict:
    return await queue_stats(session, clock.now())


@router.get("/audit", response_model=Page[AuditOut], summary="Administrative actions, newest first")
async def audit_log(
    _admin: Admin,
    session: SessionDep,
    page: PageDep,
    target_id: Annotated[str | None, Query()] = None,
) -> Page[AuditOut]:
    rows, total = await audit_trail(
        session, limit=page.limit, offset=page.offset, target_id=target_id
    )
    data = [AuditOut.model_validate(row) for row in rows]
    return page.page(data, total)
