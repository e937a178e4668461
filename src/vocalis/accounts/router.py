"""The caller's own API keys (read-only): another account's key reads as not found."""

from __future__ import annotations

from fastapi import APIRouter

from vocalis.accounts import service
from vocalis.accounts.deps import KeyReader, KeyUsageDep
from vocalis.accounts.schemas import KeyOut
from vocalis.kit.deps import ClockDep, SessionDep

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("", response_model=list[KeyOut], summary="Your account's API keys")
async def list_my_keys(
    principal: KeyReader, session: SessionDep, clock: ClockDep, usage: KeyUsageDep
) -> list[KeyOut]:
    keys = await service.list_api_keys(session, principal.account_id)
    used = await usage.key_characters(session, [key.id for key in keys])
    return [KeyOut.from_key(key, clock.now(), used.get(key.id, 0)) for key in keys]


@router.get("/{key_id}", response_model=KeyOut, summary="One of your API keys")
async def get_my_key(
    key_id: str, principal: KeyReader, session: SessionDep, clock: ClockDep, usage: KeyUsageDep
) -> KeyOut:
    key = await service.get_api_key(session, key_id, account_id=principal.account_id)
    used = await usage.key_characters(session, [key.id])
    return KeyOut.from_key(key, clock.now(), used.get(key.id, 0))
