"""Usage reports, computed from the daily aggregates (and raw events for the request log)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.models import Account
from vocalis.usage.models import UsageDaily, UsageEvent

TOP = 10


def _sums() -> list[ColumnElement[Any]]:
    return [
        func.coalesce(func.sum(UsageDaily.requests), 0).label("requests"),
        func.coalesce(func.sum(UsageDaily.characters), 0).label("characters"),
        func.coalesce(func.sum(UsageDaily.audio_ms), 0).label("audio_ms"),
        func.coalesce(func.sum(UsageDaily.audio_bytes), 0).label("audio_bytes"),
        func.coalesce(func.sum(UsageDaily.cache_hits), 0).label("cache_hits"),
        func.coalesce(
            func.sum(case((UsageDaily.status_code >= 400, UsageDaily.requests), else_=0)), 0
        ).label("errors"),
    ]


def _figures(row: Any) -> dict[str, Any]:
    return {
        "requests": int(row.requests),
        "characters": int(row.characters),
        "audio_seconds": round(int(row.audio_ms) / 1000, 3),
        "audio_bytes": int(row.audio_bytes),
        "cache_hits": int(row.cache_hits),
        "errors": int(row.errors),
    }


def _window(days: int, today: date) -> tuple[date, list[ColumnElement[bool]]]:
    since = today - timedelta(days=days - 1)
    return since, [UsageDaily.day >= since, UsageDaily.day <= today]


async def _grouped(
    session: AsyncSession, column: Any, filters: list[ColumnElement[bool]], *, skip_empty: bool
) -> list[tuple[Any, dict[str, Any]]]:
    query: Select[Any] = select(column, *_sums()).where(*filters).group_by(column)
    if skip_empty:
        query = query.where(column != "")
    rows = (await session.execute(query)).all()
    return [(row[0], _figures(row)) for row in rows]


async def usage_summary(
    session: AsyncSession,
    *,
    days: int,
    today: date,
    account_id: str | None = None,
    key_id: str | None = None,
) -> dict[str, Any]:
    """Totals, breakdowns and a gap-free daily series over the last `days` days (UTC)."""
    since, filters = _window(days, today)
    if account_id is not None:
        filters.append(UsageDaily.account_id == account_id)
    if key_id is not None:
        filters.append(UsageDaily.key_id == key_id)
    totals = (await session.execute(select(*_sums()).where(*filters))).one()
    by_voice = await _grouped(session, UsageDaily.voice, filters, skip_empty=True)
    by_language = await _grouped(session, UsageDaily.language, filters, skip_empty=True)
    by_status = await _grouped(session, UsageDaily.status_code, filters, skip_empty=False)
    daily = dict(await _grouped(session, UsageDaily.day, filters, skip_empty=False))
    return {
        "from": since,
        "to": today,
        "days": days,
        "totals": _figures(totals),
        "by_voice": _ranked("voice", by_voice),
        "by_language": _ranked("language", by_language),
        "by_status": sorted(
            ({"status_code": code, "requests": figures["requests"]} for code, figures in by_status),
            key=lambda item: item["status_code"],
        ),
        "daily": [
            {"date": day, **_daily_figures(daily.get(day))}
            for day in (since + timedelta(days=offset) for offset in range(days))
        ],
    }


async def platform_stats(session: AsyncSession, *, days: int, today: date) -> dict[str, Any]:
    """What the whole platform did: totals, top voices and accounts, daily trend."""
    summary = await usage_summary(session, days=days, today=today)
    _, filters = _window(days, today)
    top_accounts = (
        await session.execute(
            select(UsageDaily.account_id, Account.email, *_sums())
            .join(Account, Account.id == UsageDaily.account_id, isouter=True)
            .where(*filters)
            .group_by(UsageDaily.account_id, Account.email)
            .order_by(func.sum(UsageDaily.characters).desc(), UsageDaily.account_id)
            .limit(TOP)
        )
    ).all()
    accounts = await session.scalar(select(func.count()).select_from(Account)) or 0
    return {
        "from": summary["from"],
        "to": summary["to"],
        "days": days,
        "accounts": accounts,
        "totals": summary["totals"],
        "top_voices": summary["by_voice"][:TOP],
        "top_accounts": [
            {"account_id": row.account_id, "email": row.email, **_figures(row)}
            for row in top_accounts
        ],
        "daily": summary["daily"],
    }


async def usage_log(
    session: AsyncSession, account_id: str, *, limit: int, offset: int
) -> tuple[list[UsageEvent], int]:
    """The account's requests, newest first."""
    mine = UsageEvent.account_id == account_id
    total = await session.scalar(select(func.count()).select_from(UsageEvent).where(mine)) or 0
    rows = await session.scalars(
        select(UsageEvent)
        .where(mine)
        .order_by(UsageEvent.created_at.desc(), UsageEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def _ranked(name: str, groups: list[tuple[Any, dict[str, Any]]]) -> list[dict[str, Any]]:
    items = [{name: value, **figures} for value, figures in groups]
    return sorted(items, key=lambda item: (-item["characters"], -item["requests"], item[name]))


def _daily_figures(figures: dict[str, Any] | None) -> dict[str, Any]:
    figures = figures or {"requests": 0, "characters": 0, "audio_seconds": 0.0, "errors": 0}
    keep = ("requests", "characters", "audio_seconds", "errors")
    return {key: figures[key] for key in keep}
