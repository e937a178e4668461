"""What the admin routes depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vocalis.accounts.service import Principal, Scope
from vocalis.usage.deps import rate_limited

Admin = Annotated[Principal, Depends(rate_limited(Scope.ADMIN))]
