"""Every table of every domain, gathered on one metadata for Alembic."""

from vocalis.accounts.models import Account, ApiKey
from vocalis.kit.db import Base

__all__ = ["Account", "ApiKey", "Base"]
