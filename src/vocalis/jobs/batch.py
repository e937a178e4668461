"""The result of a batch job: one ZIP with an audio file per item and a manifest."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from vocalis.audio.formats import AudioFormat

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BatchEntry:
    item_id: str
    voice: str
    characters: int
    duration_seconds: float
    content: bytes


def build_zip(job_id: str, audio_format: AudioFormat, entries: list[BatchEntry]) -> bytes:
    """Blocking (compression): run in a thread. Audio is stored, not deflated: it barely shrinks."""
    manifest: dict[str, Any] = {"job_id": job_id, "format": audio_format.value, "items": []}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in entries:
            name = f"{entry.item_id}.{audio_format.extension}"
            archive.writestr(name, entry.content, compress_type=zipfile.ZIP_STORED)
            manifest["items"].append(
                {
                    "id": entry.item_id,
                    "file": name,
                    "voice": entry.voice,
                    "characters": entry.characters,
                    "duration_seconds": round(entry.duration_seconds, 3),
                    "bytes": len(entry.content),
                }
            )
        archive.writestr(
            MANIFEST, json.dumps(manifest, indent=2), compress_type=zipfile.ZIP_DEFLATED
        )
    return buffer.getvalue()
