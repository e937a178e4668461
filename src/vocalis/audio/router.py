"""Checking the AI-generated marking of a file: valid, tampered, or absent."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import av
from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from vocalis.accounts.auth import SpeechCaller
from vocalis.api.deps import ServicesDep
from vocalis.kit.errors import InvalidInput

router = APIRouter(prefix="/v1/watermark", tags=["marking"])

VERIFY_PATH = "/v1/watermark/verify"


class UnreadableAudio(InvalidInput):
    code = "unreadable_audio"


class Verification(BaseModel):
    status: Literal["valid", "tampered", "absent"] = Field(
        description="valid: signed by this server and untouched; tampered: audio or manifest "
        "changed; absent: no manifest (never marked, or re-encoded since)"
    )
    detail: str
    ai_generated: bool = Field(description="The file's tags declare AI-generated content")
    format: str
    codec: str
    duration_seconds: float
    manifest: dict[str, Any] | None


@router.post("/verify", response_model=Verification, summary="Check a file's AI-generated marking")
async def verify(
    file: Annotated[UploadFile, File(description="The audio file to check")],
    _principal: SpeechCaller,
    services: ServicesDep,
) -> Verification:
    data = await file.read()
    try:
        verdict = await asyncio.to_thread(services.marker.verify, data)
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise UnreadableAudio("the upload is not an audio file this server can read") from exc
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
