"""Request and response bodies of the job, batch and webhook endpoints."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vocalis.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioFormat
from vocalis.jobs.models import Job, WebhookAttempt, WebhookDelivery
from vocalis.synthesis.schemas import MAX_SPEED, MIN_SPEED

MAX_METADATA_BYTES = 4096
ITEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _small_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="What to say (up to VOCALIS_MAX_JOB_TEXT_CHARS characters).")
    voice: str | None = None
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    format: AudioFormat = AudioFormat.WAV
    sample_rate: int | None = Field(None, ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)
    webhook_url: str | None = Field(
        None, description="Where to POST job.succeeded/failed/canceled."
    )
    metadata: dict[str, Any] | None = Field(
        None, description="Echoed back in the job and webhooks."
    )

    _metadata = field_validator("metadata")(_small_metadata)


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    voice: str | None = None
    id: str | None = Field(None, description="File name stem in the ZIP: letters, digits, . _ -")

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        if value is not None and (not ITEM_ID.fullmatch(value) or ".." in value):
            raise ValueError(
                "id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(min_length=1)
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    format: AudioFormat = AudioFormat.WAV
    sample_rate: int | None = Field(None, ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)
    webhook_url: str | None = None
    metadata: dict[str, Any] | None = None

    _metadata = field_validator("metadata")(_small_metadata)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list[BatchItem]) -> list[BatchItem]:
        ids = [item.id for item in items if item.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("item ids must be unique")
        return items


class JobError(BaseModel):
    code: str
    detail: str


class JobOut(BaseModel):
    job_id: str
    kind: str = Field(description="speech or batch")
    status: str = Field(description="queued, running, succeeded, failed or canceled")
    voice: str | None
    format: str
    items: int
    characters: int
    estimated_audio_seconds: float
    audio_seconds: float | None
    audio_bytes: int | None
    attempts: int
    error: JobError | None
    metadata: dict[str, Any] | None
    webhook_url: str | None
    audio_url: str | None = Field(description="Download link once the job has succeeded")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When text and audio will be deleted")
    purged: bool

    @classmethod
    def from_job(cls, job: Job, *, base_url: str, retention_hours: float) -> JobOut:
        available = job.status == "succeeded" and job.purged_at is None
        return cls(
            job_id=job.id,
            kind=job.kind,
            status=job.status,
            voice=job.voice,
            format=job.format,
            items=job.item_count,
            characters=job.characters,
            estimated_audio_seconds=round(job.estimated_audio_ms / 1000, 3),
            audio_seconds=None if job.audio_ms is None else round(job.audio_ms / 1000, 3),
            audio_bytes=job.audio_bytes,
            attempts=job.attempts,
            error=JobError(code=job.error_code, detail=job.error or "") if job.error_code else None,
            metadata=job.client_metadata,
            webhook_url=job.webhook_url,
            audio_url=f"{base_url.rstrip('/')}/v1/tts/jobs/{job.id}/audio" if available else None,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            expires_at=(
                job.finished_at + timedelta(hours=retention_hours) if job.finished_at else None
            ),
            purged=job.purged_at is not None,
        )


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


class QueueStats(BaseModel):
    counts: dict[str, int] = Field(description="jobs by status")
    oldest_queued_age_seconds: float | None
    running_by_worker: dict[str, int]
    webhooks: dict[str, int] = Field(description="webhook deliveries by status")
