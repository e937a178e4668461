"""The public price list: what a pricing page shows, from the plans this server is configured
to sell (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vocalis.billing.deps import PlansDep
from vocalis.billing.schemas import PlanList, PlanOut

router = APIRouter(prefix="/v1", tags=["plans"])


@router.get("/plans", response_model=PlanList, summary="Plans, prices and allowances")
async def list_plans(plans: PlansDep, response: Response) -> PlanList:
    response.headers["Cache-Control"] = "public, max-age=300"
    return PlanList(
        plans=[
            PlanOut(
                id=plan.id,
                name=plan.name,
                price_cents=plan.price_cents,
                currency=plan.currency.lower(),
                characters=plan.characters,
                audio_seconds=plans.seconds_for(plan),
                metered=plan.metered,
            )
            for plan in plans
        ]
    )
