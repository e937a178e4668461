"""Every table of every domain, gathered on one metadata for Alembic."""

from vocalis.accounts.models import Account, ApiKey
from vocalis.admin.models import AuditEntry
from vocalis.jobs.models import IdempotencyRecord, Job
from vocalis.kit.db import Base
from vocalis.usage.models import QuotaReservation, UsageDaily, UsageEvent
from vocalis.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSecret

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "Base",
    "IdempotencyRecord",
    "Job",
    "QuotaReservation",
    "UsageDaily",
    "UsageEvent",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSecret",
]
