"""What billing's routes depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vocalis.billing.events import StripeInbox
from vocalis.billing.plans import Catalogue
from vocalis.billing.service import Billing
from vocalis.kit.deps import provided

PlansDep = Annotated[Catalogue, Depends(provided(Catalogue))]
BillingDep = Annotated[Billing, Depends(provided(Billing))]
StripeInboxDep = Annotated[StripeInbox, Depends(provided(StripeInbox))]
