"""What routes that read plans depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vocalis.billing.plans import Catalogue
from vocalis.kit.deps import provided

PlansDep = Annotated[Catalogue, Depends(provided(Catalogue))]
