"""Deleting an account: what identifies a person goes, what the books need stays.

Gone, in one transaction: the email (a placeholder takes its place, so the address can sign up
again) and the password hash; every key (revoked, so refused at once), session and mailed
token; mail still waiting for the address; the texts, webhook URLs, metadata and audio of its
jobs (running and queued ones are canceled first, refunded as any cancel is); the client
addresses of its usage events. Kept, under the account id alone: usage periods and events, job
rows and their figures, the audit trail — what invoices and disputes are settled from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.models import Account, AccountToken, ApiKey, WebSession
from vocalis.accounts.service import DELETED
from vocalis.jobs import queue
from vocalis.jobs.models import Job
from vocalis.kit.audit import audit
from vocalis.mail.models import OutboundMail
from vocalis.mail.outbox import enqueue
from vocalis.usage.models import UsageEvent

DELETED_STATUS = DELETED


@dataclass(frozen=True)
class Erased:
    canceled_jobs: list[str]
    audio_paths: list[str]  # to delete once the transaction is committed


async def erase_account(
    session: AsyncSession,
    account_id: str,
    *,
    now: datetime,
    policy: queue.JobPolicy,
    base_url: str,
) -> Erased:
    account = await session.get(Account, account_id, with_for_update=True)
    if account is None or account.status == DELETED_STATUS:
        return Erased([], [])
    unfinished = list(
        await session.scalars(
            select(Job.id).where(Job.account_id == account_id).where(Job.status.in_(queue.ACTIVE))
        )
    )
    for job_id in unfinished:
        await queue.cancel(session, job_id, account_id=account_id, now=now, policy=policy)
    paths = []
    for job in await session.scalars(
        select(Job).where(Job.account_id == account_id).where(Job.purged_at.is_(None))
    ):
        if job.result_path:
            paths.append(job.result_path)
        job.request = job.result_path = job.webhook_url = job.client_metadata = None
        job.purged_at = now
    await session.execute(
        update(ApiKey)
        .where(ApiKey.account_id == account_id)
        .where(ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(delete(WebSession).where(WebSession.account_id == account_id))
    await session.execute(delete(AccountToken).where(AccountToken.account_id == account_id))
    await session.execute(
        delete(OutboundMail)
        .where(OutboundMail.to_address == account.email)
        .where(OutboundMail.status == "pending")
    )
    await session.execute(
        update(UsageEvent).where(UsageEvent.account_id == account_id).values(client_ip=None)
    )
    await enqueue(
        session, to=account.email, template="account_deleted", context={}, base_url=base_url,
        now=now,
    )  # fmt: skip
    account.email = f"deleted-{account.id}@deleted.invalid"
    account.password_hash = None
    account.email_verified_at = None
    account.status = DELETED_STATUS
    account.updated_at = now
    await audit(
        session,
        actor=f"account:{account_id}",
        action="account.delete",
        target_type="account",
        target_id=account_id,
        now=now,
        details={"jobs_canceled": len(unfinished), "audio_files": len(paths)},
    )
    return Erased(unfinished, paths)
