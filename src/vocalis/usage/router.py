"""The caller's own usage: totals and breakdowns, the request log, and the quota."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vocalis.accounts import service as accounts
from vocalis.accounts.deps import WebUser
from vocalis.kit.deps import ClockDep, SessionDep
from vocalis.kit.pagination import Page, PageDep
from vocalis.usage.deps import MeterDep, UsageReader, UsageRecorderDep
from vocalis.usage.schemas import QuotaOut, UsageEventOut, UsageSummary
from vocalis.usage.service import usage_log, usage_summary

router = APIRouter(prefix="/v1/usage", tags=["usage"])
keys_router = APIRouter(prefix="/v1/keys", tags=["keys"])  # a key's usage, beside the key

Days = Annotated[int, Query(ge=1, le=366, description="How many days back, today included (UTC).")]


@router.get("", response_model=UsageSummary, response_model_by_alias=True, summary="Usage totals")
async def get_usage(
    principal: UsageReader,
    session: SessionDep,
    clock: ClockDep,
    recorder: UsageRecorderDep,
    days: Days = 30,
) -> dict:
    await recorder.flush()  # include this process's latest requests
    return await usage_summary(
        session, days=days, today=clock.now().date(), account_id=principal.account_id
    )


@router.get("/logs", response_model=Page[UsageEventOut], summary="Your requests, newest first")
async def get_usage_logs(
    principal: UsageReader, session: SessionDep, recorder: UsageRecorderDep, page: PageDep
) -> Page[UsageEventOut]:
    await recorder.flush()
    events, total = await usage_log(
        session, principal.account_id, limit=page.limit, offset=page.offset
    )
    return page.page([UsageEventOut.model_validate(event) for event in events], total)


@router.get("/quota", response_model=QuotaOut, summary="Limits and use in the current period")
async def get_quota(principal: UsageReader, meter: MeterDep) -> QuotaOut:
    figures = await meter.figures(principal)
    return QuotaOut(**figures.as_dict(), resets_at=figures.resets_at, plan=figures.plan)


@keys_router.get(
    "/{key_id}/usage", response_model=UsageSummary, summary="Usage of one of your keys"
)
async def get_key_usage(
    key_id: str,
    principal: UsageReader,
    session: SessionDep,
    clock: ClockDep,
    recorder: UsageRecorderDep,
    days: Days = 30,
) -> dict:
    await recorder.flush()  # first: on SQLite a read sees the database as of its first query
    await accounts.get_api_key(session, key_id, account_id=principal.account_id)
    return await usage_summary(
        session, days=days, today=clock.now().date(), account_id=principal.account_id, key_id=key_id
    )


# --- the same, for a person logged in on the web ----------------------------------------------

account_router = APIRouter(prefix="/account", tags=["web accounts"])


@account_router.get("/quota", response_model=QuotaOut, summary="Your account's quota")
async def get_own_quota(caller: WebUser, meter: MeterDep) -> QuotaOut:
    figures = await meter.figures(caller.principal)
    return QuotaOut(**figures.as_dict(), resets_at=figures.resets_at, plan=figures.plan)


@account_router.get(
    "/usage", response_model=UsageSummary, response_model_by_alias=True, summary="Usage totals"
)
async def get_own_usage(
    caller: WebUser,
    session: SessionDep,
    clock: ClockDep,
    recorder: UsageRecorderDep,
    days: Days = 30,
) -> dict:
    await recorder.flush()
    return await usage_summary(
        session, days=days, today=clock.now().date(), account_id=caller.principal.account_id
    )


@account_router.get(
    "/usage/logs", response_model=Page[UsageEventOut], summary="Your requests, newest first"
)
async def get_own_usage_logs(
    caller: WebUser, session: SessionDep, recorder: UsageRecorderDep, page: PageDep
) -> Page[UsageEventOut]:
    await recorder.flush()
    events, total = await usage_log(
        session, caller.principal.account_id, limit=page.limit, offset=page.offset
    )
    return page.page([UsageEventOut.model_validate(event) for event in events], total)
