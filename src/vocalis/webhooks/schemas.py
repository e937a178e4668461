"""Response bodies about webhooks: the signing secret, and a delivery with its attempts.

Here, not with the routes that send them, so that any domain's endpoints can show its events'
deliveries the same way.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vocalis.webhooks.models import WebhookAttempt, WebhookDelivery


class SigningSecret(BaseModel):
    secret: str = Field(description="whsec_…: verify webhook signatures with it")
    previous_valid_until: datetime | None = Field(
        None, description="Until then, webhooks are also signed with the previous secret"
    )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    webhook_id: str
    event_type: str
    url: str
    status: str = Field(description="pending, delivering, succeeded, failed or abandoned")
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    created_at: datetime

    @classmethod
    def from_delivery(
        cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]
    ) -> DeliveryOut:
        return cls(
            webhook_id=delivery.id,
            event_type=delivery.event_type,
            url=delivery.url,
            status=delivery.status,
            attempts=[AttemptOut.model_validate(attempt) for attempt in attempts],
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            created_at=delivery.created_at,
        )


class WebhookTestIn(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="Where to send the test event")


class WebhookTestOut(BaseModel):
    delivered: bool = Field(description="The receiver answered 2xx")
    status_code: int | None = Field(description="Its answer's status; null if none came")
    error: str | None = Field(description="Why it was not delivered, if it was not")
    duration_ms: int
    event_id: str = Field(description="The test event's webhook-id")
