"""Every table of every domain, gathered on one metadata for Alembic."""

from vocalis.accounts.models import Account, ApiKey
from vocalis.admin.models import AuditEntry
from vocalis.kit.db import Base
from vocalis.usage.models import UsageDaily, UsageEvent

__all__ = ["Account", "ApiKey", "AuditEntry", "Base", "UsageDaily", "UsageEvent"]
