"""Machine-readable marking of AI-generated audio (EU AI Act, Art. 50).

Every file Vocalis makes carries, in its container's own tags (WAV LIST/INFO, ID3 for MP3 and
AAC, Vorbis comments for Ogg and FLAC), a notice that the speech is AI-generated, the IPTC
digital-source type `trainedAlgorithmicMedia`, and a signed manifest: an HMAC-SHA256, keyed by
a server secret and naming no account, over the manifest and a SHA-256 of the encoded audio
packets. Changing a single sample changes the digest, so `verify` can tell a file that is
untouched (`valid`) from one whose audio or manifest was altered (`tampered`) or that carries
no manifest at all (`absent`).

What it does not survive: re-encoding, transcoding or "save as" in an editor that drops tags
(the result reads `absent`), and raw formats (pcm, ulaw_8000, alaw_8000), which have nowhere to
put tags: those responses say `X-AI-Generated: true` in their HTTP headers instead. Streamed
responses carry the notice but not the signature, which needs the finished audio.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from vocalis.audio.encoders import Inspection, inspect
from vocalis.audio.uploads import Demuxer

NOTICE = "AI-generated speech: a synthetic voice made by Vocalis text-to-speech (EU AI Act Art. 50)"
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MANIFEST_TAG = "vocalis_manifest"
COMMENT_MARK = "vocalis-manifest: "
ALGORITHM = "HMAC-SHA256"


def ai_tags(manifest: dict[str, Any] | None = None) -> dict[str, str]:
    """Container tags declaring AI generation; with a manifest, the signed proof as well.

    The manifest also rides in the comment, because WAV's INFO chunk has no free-form keys.
    """
    comment = NOTICE
    tags = {"ai_generated": "true", "digital_source_type": DIGITAL_SOURCE_TYPE}
    if manifest is not None:
        text = _canonical(manifest)
        comment = f"{NOTICE}. {COMMENT_MARK}{text}"
        tags[MANIFEST_TAG] = text
    return {"comment": comment, **tags}


Status = Literal["valid", "tampered", "absent"]


@dataclass(frozen=True)
class Verdict:
    status: Status
    detail: str
    inspection: Inspection
    manifest: dict[str, Any] | None

    @property
    def declares_ai(self) -> bool:
        tags = self.inspection.tags
        return tags.get("ai_generated") == "true" or NOTICE in tags.get("comment", "")


class Marker:
    """Signs and checks manifests with a key derived from the server's secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"vocalis-marking-v1", hashlib.sha256).digest()

    def signed_tags(self, payload_sha256: str, *, voice: str, created: datetime) -> dict[str, str]:
        """The tags for a file whose encoded audio packets hash to `payload_sha256`: the notice
        and a manifest signed over that digest (`FileEncoder.finish` asks for them)."""
        manifest: dict[str, Any] = {
            "v": 1,
            "ai_generated": True,
            "generator": "Vocalis",
            "digital_source_type": DIGITAL_SOURCE_TYPE,
            "voice": voice,
            "created": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "alg": ALGORITHM,
            "payload_sha256": payload_sha256,
        }
        manifest["signature"] = self._sign(manifest)
        return ai_tags(manifest)

    def verify(self, data: bytes, demuxer: Demuxer | None = None) -> Verdict:
        """Blocking. Raises UnreadableAudio for data that is not audio this server reads.

        Re-encoding that keeps the tags (FFmpeg's default) reads `tampered`: the packets no
        longer match the signed digest, and nothing tells a re-encode from an edit."""
        inspection = inspect(data, demuxer)
        manifest = _find_manifest(inspection.tags)
        if manifest is None:
            return Verdict("absent", "no Vocalis manifest in this file", inspection, None)
        claimed = manifest.get("signature")
        unsigned = {key: value for key, value in manifest.items() if key != "signature"}
        if not isinstance(claimed, str) or not hmac.compare_digest(claimed, self._sign(unsigned)):
            return Verdict(
                "tampered",
                "the manifest was altered or not signed by this server",
                inspection,
                manifest,
            )
        if manifest.get("payload_sha256") != inspection.payload_sha256:
            return Verdict(
                "tampered",
                "the audio was changed after it was signed (edited, or re-encoded)",
                inspection,
                manifest,
            )
        return Verdict("valid", "untouched since Vocalis made it", inspection, manifest)

    def _sign(self, manifest: dict[str, Any]) -> str:
        return hmac.new(self._key, _canonical(manifest).encode(), hashlib.sha256).hexdigest()


def _canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _find_manifest(tags: dict[str, str]) -> dict[str, Any] | None:
    text = tags.get(MANIFEST_TAG)
    if text is None:
        comment = tags.get("comment", "")
        if COMMENT_MARK not in comment:
            return None
        text = comment.split(COMMENT_MARK, 1)[1]
    try:
        manifest = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        return {"unreadable": True}
    return manifest if isinstance(manifest, dict) else {"unreadable": True}
