"""The audit trail: every administrative change leaves a row, in the change's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
