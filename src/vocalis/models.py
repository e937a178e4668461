"""Every table of every domain, gathered on one metadata for Alembic."""

from vocalis.accounts.models import Account, AccountToken, ApiKey, WebSession
from vocalis.billing.models import BillingEvent, UsageReport
from vocalis.jobs.models import IdempotencyRecord, Job
from vocalis.kit.audit import AuditEntry
from vocalis.kit.db import Base
from vocalis.mail.models import OutboundMail
from vocalis.usage.models import QuotaReservation, UsageDaily, UsageEvent
from vocalis.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSecret

__all__ = [
    "Account",
    "AccountToken",
    "ApiKey",
    "AuditEntry",
    "BillingEvent",
    "Base",
    "IdempotencyRecord",
    "Job",
    "OutboundMail",
    "QuotaReservation",
    "UsageReport",
    "UsageDaily",
    "UsageEvent",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSecret",
]
