"""Plans as configuration: what each one costs and allows a month.

An account points at a plan by id and may carry its own overrides (an operator's deal); the
allowance of an account is its override where set, else its plan's. Audio seconds follow the
characters at `VOCALIS_QUOTA_CHARS_PER_SECOND` unless a plan sets them. Pay-as-you-go has no
monthly allowance: it is metered, and capped only where the customer sets a cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vocalis.kit.errors import InvalidInput
from vocalis.usage.periods import UNLIMITED, Allowance

METERED_UNIT = 1_000_000  # a metered plan's price is per million characters


class PlanConfig(BaseModel):
    """One plan as written in the settings (`VOCALIS_PLANS`, JSON, merged over the defaults)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    price_cents: int | None = Field(None, ge=0, description="a month; per million chars if metered")
    currency: str | None = Field(None, min_length=3, max_length=3)
    characters: int | None = Field(None, ge=0, description="monthly characters; none if metered")
    audio_seconds: int | None = Field(None, ge=0, description="default: from the characters")
    metered: bool | None = None
    lookup_key: str | None = Field(None, description="the Stripe price's lookup_key")


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    price_cents: int
    currency: str
    characters: int | None  # None: no monthly allowance (metered)
    audio_seconds: int | None
    metered: bool
    lookup_key: str


DEFAULT_PLANS: dict[str, Plan] = {
    plan.id: plan
    for plan in (
        Plan("free", "Free", 0, "eur", 10_000, None, False, "vocalis_free"),
        Plan("starter", "Starter", 400, "eur", 100_000, None, False, "vocalis_starter"),
        Plan("pro", "Pro", 1200, "eur", 500_000, None, False, "vocalis_pro"),
        Plan("scale", "Scale", 3000, "eur", 2_000_000, None, False, "vocalis_scale"),
        Plan("payg", "Pay-as-you-go", 300, "eur", None, None, True, "vocalis_payg"),
    )
}


class UnknownPlan(InvalidInput):
    code = "unknown_plan"


class Catalogue:
    """The plans this server sells, and the allowance each gives an account."""

    def __init__(
        self,
        overrides: Mapping[str, PlanConfig | Mapping[str, Any]] | None = None,
        *,
        chars_per_second: float,
    ) -> None:
        """`overrides` (as `VOCALIS_PLANS` gives them) change or add plans; a bad one raises
        ValueError naming the plan and the field."""
        plans = dict(DEFAULT_PLANS)
        for plan_id, given in (overrides or {}).items():
            try:
                config = PlanConfig.model_validate(given)
            except ValidationError as exc:
                raise ValueError(f"plan '{plan_id}': {exc}") from None
            base = plans.get(plan_id) or Plan(
                plan_id, plan_id.title(), 0, "eur", None, None, False, f"vocalis_{plan_id}"
            )
            changes = config.model_dump(exclude_none=True)
            plans[plan_id] = Plan(**{**vars(base), **changes})
        self._plans = plans
        self.chars_per_second = chars_per_second

    @property
    def ids(self) -> list[str]:
        return list(self._plans)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._plans.values())

    def get(self, plan_id: str) -> Plan:
        plan = self._plans.get(plan_id)
        if plan is None:
            raise UnknownPlan(
                f"no plan '{plan_id}'; plans are {', '.join(self._plans)}",
                extra={"plans": list(self._plans)},
            )
        return plan

    def by_lookup_key(self, lookup_key: str) -> Plan | None:
        """The plan whose Stripe price has `lookup_key`."""
        return next((plan for plan in self._plans.values() if plan.lookup_key == lookup_key), None)

    def seconds_for(self, plan: Plan) -> int | None:
        if plan.audio_seconds is not None:
            return plan.audio_seconds
        if plan.characters is None:
            return None
        return math.ceil(plan.characters / self.chars_per_second)

    def allowance(
        self,
        plan_id: str,
        *,
        characters: int | None = None,
        seconds: int | None = None,
        spend_cap_cents: int | None = None,
    ) -> Allowance:
        """The plan's monthly allowance, with an account's own overrides where it has them, and
        a metered plan's spend cap as a character limit. A plan no longer configured allows
        nothing beyond the overrides."""
        plan = self._plans.get(plan_id)
        plan_chars = plan.characters if plan is not None else 0
        plan_seconds = self.seconds_for(plan) if plan is not None else 0
        chars = characters if characters is not None else plan_chars
        secs = seconds if seconds is not None else plan_seconds
        capped = self.cap_characters(plan_id, spend_cap_cents)
        if capped is not None:
            chars = capped if chars is None else min(chars, capped)
        return Allowance(
            UNLIMITED if chars is None else chars,
            UNLIMITED if secs is None else secs * 1000,
        )

    def cap_characters(self, plan_id: str, spend_cap_cents: int | None) -> int | None:
        """How many characters a metered plan's spend cap pays for (whole characters, in
        integers: 300 cents a million and a 150-cent cap → 500,000)."""
        plan = self._plans.get(plan_id)
        if spend_cap_cents is None or plan is None or not plan.metered:
            return None
        if plan.price_cents == 0:
            return None
        return spend_cap_cents * METERED_UNIT // plan.price_cents
