"""The audit trail: who did what to which object, and when — administrative changes and
account security events (logins, password changes) alike, each written in the transaction of
the change it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from vocalis.kit.db import Base, UTCDateTime


class AuditEntry(Base):
    """Who did what to which object, and when; written in the same transaction as the change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    client_ip: Mapped[str | None] = mapped_column(String(45))


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
