"""Checking the AI-generated marking of a file: valid, tampered, or absent."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from vocalis.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from vocalis.audio.uploads import ACCEPTED, UploadFormat, demuxer_for
from vocalis.synthesis.deps import MarkerDep, SpeechCaller

router = APIRouter(prefix="/v1/watermark", tags=["marking"])

VERIFY_PATH = "/v1/watermark/verify"


class Verification(BaseModel):
    status: Literal["valid", "tampered", "absent"] = Field(
        description="valid: signed by this server and untouched; tampered: audio or manifest "
        "changed since signing (edited, or re-encoded keeping the tags); absent: no manifest "
        "(never marked, or its tags were dropped)"
    )
    detail: str
    ai_generated: bool = Field(description="The file's tags declare AI-generated content")
    format: str
    codec: str
    duration_seconds: float
    manifest: dict[str, Any] | None


@router.post("/verify", response_model=Verification, summary="Check a file's AI-generated marking")
async def verify(
    file: Annotated[UploadFile, File(description=f"The audio file to check: {ACCEPTED}")],
    _principal: SpeechCaller,
    marker: MarkerDep,
    upload_format: Annotated[
        UploadFormat | None,
        Form(
            alias="format",
            description="The file's format; needed for raw samples, else read from the file",
        ),
    ] = None,
    sample_rate: Annotated[
        int | None,
        Form(
            ge=MIN_SAMPLE_RATE,
            le=MAX_SAMPLE_RATE,
            description="Sample rate of raw pcm (ignored for other formats)",
        ),
    ] = None,
) -> Verification:
    data = await file.read()
    demuxer = demuxer_for(data, upload_format, sample_rate)  # reads a few header bytes
    verdict = await asyncio.to_thread(marker.verify, data, demuxer)
    inspection = verdict.inspection
    return Verification(
        status=verdict.status,
        detail=verdict.detail,
        ai_generated=verdict.declares_ai,
        format=inspection.container,
        codec=inspection.codec,
        duration_seconds=round(inspection.duration_seconds, 3),
        manifest=verdict.manifest,
    )
