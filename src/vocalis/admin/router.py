"""Operator API (scope `admin`): accounts, keys, platform statistics, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts import service as accounts
from vocalis.accounts.deps import KeyResolverDep
from vocalis.accounts.models import Account, ApiKey
from vocalis.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    KeyCreate,
    KeyCreated,
    KeyOut,
)
from vocalis.accounts.service import AccountLimits, Principal, billing_period
from vocalis.admin import service
from vocalis.admin.deps import Admin, AdminAddress
from vocalis.admin.schemas import AuditOut, BillingEventOut, PlatformStats
from vocalis.admin.service import Actor
from vocalis.billing.deps import PlansDep
from vocalis.billing.events import list_events
from vocalis.jobs.schemas import QueueStats
from vocalis.jobs.service import queue_stats
from vocalis.kit.audit import audit_trail
from vocalis.kit.deps import ClockDep, DatabaseDep, SessionDep, SettingsDep, WriteSessionDep
from vocalis.kit.pagination import Page, PageDep
from vocalis.usage.deps import MeterDep, UsageRecorderDep
from vocalis.usage.meter import Meter
from vocalis.usage.router import Days
from vocalis.usage.schemas import UsageSummary
from vocalis.usage.service import platform_stats, usage_summary

# Every admin route, with or without a credential, first checks the client's address.
router = APIRouter(prefix="/admin/api", tags=["admin"], dependencies=[AdminAddress])


KEY_ID_PREFIX = "key_"  # an API key's id; a web login's principal carries its session's id


def _actor(request: Request, admin: Principal) -> Actor:
    """Who did it: the admin key, or the operator's account when they used the web login."""
    by_key = admin.key_id.startswith(KEY_ID_PREFIX)
    return Actor(admin.key_id if by_key else f"account:{admin.account_id}", request.state.client_ip)


async def _account_out(session: AsyncSession, meter: Meter, account: Account) -> AccountOut:
    """The account with its allowance (plan and overrides) and this period's use."""
    anchor = billing_period(account.billing_period_start, account.billing_period_end)
    figures = await meter.read_account_in(
        session,
        account_id=account.id,
        plan=account.plan,
        char_limit=account.char_limit,
        seconds_limit=account.seconds_limit,
        spend_cap_cents=account.spend_cap_cents,
        billing_period=anchor,
    )
    allowance = figures.as_dict()
    return AccountOut(
        id=account.id,
        email=account.email,
        plan=account.plan,
        status=account.status,
        char_limit=allowance["characters"]["limit"],
        seconds_limit=allowance["seconds"]["limit"],
        char_limit_override=account.char_limit,
        seconds_limit_override=account.seconds_limit,
        chars_used=figures.chars_used,
        audio_ms_used=figures.audio_ms_used,
        period_start=meter.period_for(anchor).start,
        period_end=figures.resets_at,
        created_at=account.created_at,
        stripe_customer_id=account.stripe_customer_id,
        stripe_subscription_id=account.stripe_subscription_id,
        subscription_status=account.subscription_status,
        subscribed_plan=account.subscribed_plan,
        payment_overdue_since=account.payment_overdue_since,
        plan_ends_at=account.plan_ends_at,
        spend_cap_cents=account.spend_cap_cents,
    )


async def _keys_out(
    session: AsyncSession, meter: Meter, keys: list[ApiKey], now: datetime
) -> list[KeyOut]:
    used = await meter.key_characters(session, [key.id for key in keys])
    return [KeyOut.from_key(key, now, used.get(key.id, 0)) for key in keys]


@router.post("/accounts", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
async def create_account(
    body: AccountCreate,
    request: Request,
    admin: Admin,
    session: WriteSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    meter: MeterDep,
    plans: PlansDep,
) -> AccountOut:
    account = await service.create_account(
        session,
        _actor(request, admin),
        email=body.email,
        plan=body.plan or settings.default_plan,
        limits=AccountLimits(body.char_limit, body.seconds_limit),
        plans=plans.ids,
        now=clock.now(),
        details=body.model_dump(),
    )
    return await _account_out(session, meter, account)


@router.get("/accounts", response_model=Page[AccountOut])
async def list_accounts(
    _admin: Admin,
    session: SessionDep,
    page: PageDep,
    meter: MeterDep,
    email: Annotated[str | None, Query(description="Part of the email address")] = None,
) -> Page[AccountOut]:
    rows, total = await accounts.list_accounts(
        session, limit=page.limit, offset=page.offset, email=email
    )
    return page.page([await _account_out(session, meter, row) for row in rows], total)


@router.get("/accounts/{account_id}", response_model=AccountOut)
async def get_account(
    account_id: str, _admin: Admin, session: SessionDep, meter: MeterDep
) -> AccountOut:
    return await _account_out(session, meter, await accounts.get_account(session, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
async def update_account(
    account_id: str,
    body: AccountUpdate,
    request: Request,
    admin: Admin,
    database: DatabaseDep,
    clock: ClockDep,
    meter: MeterDep,
    plans: PlansDep,
    keys: KeyResolverDep,
) -> AccountOut:
    async with database.session(write=True) as session:
        account = await service.update_account(
            session,
            _actor(request, admin),
            account_id,
            plan=body.plan,
            status=body.status,
            limits=AccountLimits(body.char_limit, body.seconds_limit),
            clear=[
                name
                for name in ("char_limit", "seconds_limit")
                if name in body.model_fields_set and getattr(body, name) is None
            ],
            plans=plans.ids,
            now=clock.now(),
            details=body.model_dump(exclude_unset=True),
        )
    keys.forget(account_id=account_id)  # committed: a suspension or a new plan applies at once
    async with database.session() as session:
        return await _account_out(session, meter, account)


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
    key, secret = await service.create_key(
        session,
        _actor(request, admin),
        body.account_id,
        options=body.options(),
        pepper=settings.key_pepper.get_secret_value(),
        now=now,
        details=body.model_dump(mode="json"),
    )
    return KeyCreated(key=KeyOut.from_key(key, now), secret=secret)


@router.get("/keys", response_model=Page[KeyOut])
async def list_keys(
    _admin: Admin,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    meter: MeterDep,
    account_id: Annotated[str | None, Query()] = None,
) -> Page[KeyOut]:
    keys, total = await accounts.page_api_keys(
        session, account_id, limit=page.limit, offset=page.offset
    )
    return page.page(await _keys_out(session, meter, keys, clock.now()), total)


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke a key (the row is kept)")
async def revoke_key(
    key_id: str,
    request: Request,
    admin: Admin,
    database: DatabaseDep,
    clock: ClockDep,
    meter: MeterDep,
    keys: KeyResolverDep,
) -> KeyOut:
    now = clock.now()
    async with database.session(write=True) as session:
        key = await service.revoke_key(session, _actor(request, admin), key_id, now=now)
    keys.forget(key_id=key_id)  # committed: refused from the next request on
    async with database.session() as session:
        return (await _keys_out(session, meter, [key], now))[0]


@router.get("/keys/{key_id}/usage", response_model=UsageSummary, response_model_by_alias=True)
async def key_usage(
    key_id: str,
    _admin: Admin,
    session: SessionDep,
    clock: ClockDep,
    recorder: UsageRecorderDep,
    days: Days = 30,
) -> dict:
    await recorder.flush()  # first: on SQLite a read sees the database as of its first query
    key = await accounts.get_api_key(session, key_id)
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


@router.get(
    "/billing/events",
    response_model=Page[BillingEventOut],
    summary="Stripe events received, newest first, with what processing them did",
)
async def billing_events(
    _admin: Admin,
    session: SessionDep,
    page: PageDep,
    state: Annotated[
        Literal["pending", "processed", "failed"] | None,
        Query(alias="status", description="Only events in this state"),
    ] = None,
    account_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[BillingEventOut]:
    rows, total = await list_events(
        session, limit=page.limit, offset=page.offset, status=state, account_id=account_id
    )
    return page.page([BillingEventOut.model_validate(row) for row in rows], total)
