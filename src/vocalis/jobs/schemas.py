"""Request and response bodies of the job and batch endpoints."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from vocalis.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioFormat
from vocalis.jobs.models import Job
from vocalis.kit.schemas import RequestBody, limited_by
from vocalis.synthesis.schemas import MAX_SPEED, MIN_SPEED, SpeechText, rates_by_format
from vocalis.webhooks.urls import MAX_URL_LENGTH

MAX_METADATA_BYTES = 4096
WEBHOOK_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://"  # the scheme alone; the rest is vetted on submission
# Device names Windows refuses as file names, with any extension ("nul.wav" included).
WINDOWS_DEVICES = ("CON", "PRN", "AUX", "NUL", "COM[0-9]", "LPT[0-9]")


def _any_case(word: str) -> str:
    """`word` as a regular expression ignoring case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c}{c.lower()}]" if c.isupper() else c for c in word)


# An item id names a file in the ZIP, on any operating system: 1-64 letters, digits, '.', '_' or
# '-', starting with a letter or digit, without '..', not ending in '.', and no Windows device
# name. One pattern, valid in JSON Schema (ECMA 262) and Python alike, states and checks it.
ITEM_ID_PATTERN = (
    rf"^(?!(?:{'|'.join(_any_case(device) for device in WINDOWS_DEVICES)})(?:\.|$))"
    r"(?!.*\.\.)(?!.*\.$)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
)
ITEM_ID = re.compile(ITEM_ID_PATTERN)


def _small_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


WebhookUrl = Annotated[str, Field(max_length=MAX_URL_LENGTH, pattern=WEBHOOK_URL)]
ItemId = Annotated[str, Field(json_schema_extra={"pattern": ITEM_ID_PATTERN})]
WEBHOOK_URL_DOC = "Where to POST job.succeeded/failed/canceled: a public http(s) URL."
METADATA_DOC = f"Echoed back in the job and webhooks; at most {MAX_METADATA_BYTES} bytes as JSON."


class JobRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra=rates_by_format)

    text: SpeechText = Field(
        description="What to say: at most VOCALIS_MAX_JOB_TEXT_CHARS characters (default 100000).",
        json_schema_extra=limited_by(maxLength="max_job_text_chars"),
    )
    voice: str | None = None
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    format: AudioFormat = AudioFormat.WAV
    sample_rate: int | None = Field(None, ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)
    webhook_url: WebhookUrl | None = Field(None, description=WEBHOOK_URL_DOC)
    metadata: dict[str, Any] | None = Field(None, description=METADATA_DOC)

    _metadata = field_validator("metadata")(_small_metadata)


class BatchItem(RequestBody):
    text: SpeechText = Field(
        description="At most VOCALIS_MAX_JOB_TEXT_CHARS characters, and so is the whole batch.",
        json_schema_extra=limited_by(maxLength="max_job_text_chars"),
    )
    voice: str | None = None
    id: ItemId | None = Field(
        None,
        description="The file's name in the ZIP, without extension: 1-64 letters, digits, '.', "
        "'_' or '-', unique in the batch ignoring case, and no Windows device name (CON, NUL, "
        "COM1, ...). Defaults to the item's position: 001, 002, ...",
    )

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        if value is not None and not ITEM_ID.fullmatch(value):
            raise PydanticCustomError(
                "invalid_item_id",
                "id must be 1-64 letters, digits, '.', '_' or '-', start with a letter or digit, "
                "not contain '..' nor end with '.', and not be a Windows device name such as "
                "CON, NUL or COM1",
            )
        return value


class BatchRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra=rates_by_format)

    items: list[BatchItem] = Field(
        min_length=1,
        description="At most VOCALIS_MAX_BATCH_ITEMS items (default 100).",
        json_schema_extra=limited_by(maxItems="max_batch_items"),
    )
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    format: AudioFormat = AudioFormat.WAV
    sample_rate: int | None = Field(None, ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)
    webhook_url: WebhookUrl | None = Field(None, description=WEBHOOK_URL_DOC)
    metadata: dict[str, Any] | None = Field(None, description=METADATA_DOC)

    _metadata = field_validator("metadata")(_small_metadata)

    @field_validator("items")
    @classmethod
    def _numbered_uniquely(cls, items: list[BatchItem]) -> list[BatchItem]:
        """Give unnamed items their position as id, then refuse two items that would write the
        same file (compared ignoring case, as Windows and macOS file systems do)."""
        first_index: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.id is None:
                item.id = f"{index + 1:03d}"
            earlier = first_index.setdefault(item.id.casefold(), index)
            if earlier != index:
                raise PydanticCustomError(
                    "duplicate_item_id",
                    "items[{earlier}] and items[{index}] both have the id '{id}' (ids name the "
                    "files in the ZIP and are compared ignoring case; an item without an id is "
                    "named after its position)",
                    {"earlier": earlier, "index": index, "id": item.id},
                )
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
    def from_job(
        cls,
        job: Job,
        *,
        base_url: str,
        retention_hours: float,
        jobs_path: str = "/v1/tts/jobs",  # where the reader downloads: /account/jobs on the web
    ) -> JobOut:
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
            audio_url=f"{base_url.rstrip('/')}{jobs_path}/{job.id}/audio" if available else None,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            expires_at=(
                job.finished_at + timedelta(hours=retention_hours) if job.finished_at else None
            ),
            purged=job.purged_at is not None,
        )


class QueueStats(BaseModel):
    counts: dict[str, int] = Field(description="jobs by status")
    oldest_queued_age_seconds: float | None
    running_by_worker: dict[str, int]
    webhooks: dict[str, int] = Field(description="webhook deliveries by status")
