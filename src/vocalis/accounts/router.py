"""The caller's own API keys (read-only): another account's key reads as not found."""

from __future__ import annotations

from fastapi import APIRouter

from vocalis.accounts import service
from vocalis.accounts.auth import UsageReader
from vocalis.accounts.schemas import KeyOut
from vocalis.api.deps import ClockDep, SessionDep, UsageRecorderDep
from vocalis.usage.router import Days
from vocalis.usage.schemas import UsageSummary
from vocalis.usage.service import usage_summary

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("", response_model=list[KeyOut], summary="Your account's API keys")
async def list_my_keys(
    principal: UsageReader, session: SessionDep, clock: ClockDep
) -> list[KeyOut]:
    keys = await service.list_api_keys(session, principal.account_id)
    return [KeyOut.from_key(key, clock.now()) for key in keys]


@router.get("/{key_id}", response_model=KeyOut, summary="One of your API keys")
async def get_my_key(
    key_id: str, principal: UsageReader, session: SessionDep, clock: ClockDep
) -> KeyOut:
    key = await service.get_api_key(session, key_id, account_id=principal.account_id)
    return KeyOut.from_key(key, clock.now())


@router.get("/{key_id}/usage", response_model=UsageSummary, summary="Usage of one of your keys")
async def get_my_key_usage(
    key_id: str,
    principal: UsageReader,
    session: SessionDep,
    clock: ClockDep,
    recorder: UsageRecorderDep,
    days: Days = 30,
) -> dict:
    await service.get_api_key(session, key_id, account_id=principal.account_id)
    await recorder.flush()
    return await usage_summary(
        session, days=days, today=clock.now().date(), account_id=principal.account_id, key_id=key_id
    )
