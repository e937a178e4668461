"""OpenAI-compatible speech: `POST /v1/audio/speech` and `GET /v1/models`.

An app built on OpenAI's SDK points its base URL here and keeps working: the same body, the
same streaming (plain chunks or `speech.audio.delta` server-sent events), the same error shape
(`{"error": {"message", "type", "param", "code"}}`), and OpenAI's voice names mapped to voices
of this server.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from vocalis.accounts.service import Principal
from vocalis.audio.formats import AudioFormat
from vocalis.config import Settings
from vocalis.kit.deps import SettingsDep, part
from vocalis.kit.errors import InvalidInput, NotFound, VocalisError
from vocalis.kit.lean import LeanRoute, lean, plain_body
from vocalis.kit.schemas import RequestBody, limited_by
from vocalis.synthesis import service
from vocalis.synthesis.deps import SpeechCaller, SpeechServiceDep, speech_caller
from vocalis.synthesis.router import complete_file, start_stream
from vocalis.synthesis.schemas import MAX_SPEED, MIN_SPEED, SpeechText
from vocalis.synthesis.service import SpeechService

# Marks an operation in the schema as answering errors in OpenAI's shape (see api/openapi.py).
OPENAI_SHAPE = "x-vocalis-openai-errors"
OPENAI_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
    "verse", "marin", "cedar",
)  # fmt: skip
OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPENAI_PCM_RATE = 24000  # OpenAI's raw PCM is 24 kHz; clients play it at that rate

_TYPES = {
    401: "invalid_request_error",
    403: "permission_error",
    429: "requests",
    500: "server_error",
}
_CODES = {
    "missing_api_key": "invalid_api_key",
    "revoked_api_key": "invalid_api_key",
    "expired_api_key": "invalid_api_key",
    "rate_limited": "rate_limit_exceeded",
    "quota_exceeded": "insufficient_quota",
}
_PARAMS = {
    "empty_text": "input", "text_too_long": "input", "unknown_voice": "voice",
    "unsupported_format": "response_format", "invalid_speed": "speed", "unknown_model": "model",
}  # fmt: skip


def openai_error(
    status: int,
    message: str,
    code: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if code == "quota_exceeded":
        kind = "insufficient_quota"
    else:
        kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {
        "error": {
            "message": message,
            "type": kind,
            "param": param if param is not None else _PARAMS.get(code),
            "code": _CODES.get(code, code),
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


class OpenAIErrorsRoute(LeanRoute):
    """Renders every error of these routes in OpenAI's shape; validation errors are 400s, and
    so is a body FastAPI cannot even parse (not UTF-8), which it raises as an HTTPException."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        options["openapi_extra"] = {**(options.get("openapi_extra") or {}), OPENAI_SHAPE: True}
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await in_openai_shape(request, handle)

        return handler

    async def answer_plainly(self, request: Request) -> Response | None:
        return await in_openai_shape(request, super().answer_plainly)


Answer = TypeVar("Answer", bound=Response | None)


async def in_openai_shape(
    request: Request, handle: Callable[[Request], Awaitable[Answer]]
) -> Answer | JSONResponse:
    """`handle`'s answer, with any error it raises in OpenAI's shape."""
    try:
        return await handle(request)
    except VocalisError as exc:
        request.state.error_code = exc.code  # counted (429s) and logged by the middleware
        status = 400 if exc.status_code == 422 else exc.status_code
        return openai_error(status, exc.detail, exc.code, headers=exc.headers)
    except RequestValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        location = [str(step) for step in first["loc"] if step != "body"]
        param = location[0] if location else None
        code = "invalid_json" if first.get("type") == "json_invalid" else "invalid_value"
        if param == "response_format":
            code = "unsupported_format"
        return openai_error(400, f"{'.'.join(location) or 'body'}: {first['msg']}", code, param)
    except StarletteHTTPException as exc:  # FastAPI's: a JSON body it cannot parse
        code = "invalid_json" if exc.status_code == 400 else "http_error"
        return openai_error(exc.status_code, str(exc.detail), code, headers=exc.headers)


router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIErrorsRoute)


class SpeechCreate(RequestBody):
    """OpenAI's `audio.speech.create` body (unknown fields are ignored, as OpenAI does).

    `model` is declared as OpenAI's list but checked on admission, so that an unknown one is
    refused with OpenAI's own `unknown_model` code rather than a generic validation error."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(json_schema_extra={"enum": list(OPENAI_MODELS)})
    input: SpeechText = Field(
        description="What to say: at most VOCALIS_MAX_TEXT_CHARS characters (default 5000).",
        json_schema_extra=limited_by(maxLength="max_text_chars"),
    )
    voice: str = Field(description="An OpenAI voice name, or a voice id of this server")
    response_format: AudioFormat = AudioFormat.MP3
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    instructions: str | None = Field(None, description="Accepted for compatibility; ignored")
    stream_format: Literal["audio", "sse"] = "audio"


def resolve_voice(name: str, mapping: dict[str, str], default: str) -> str:
    """OpenAI's names map to configured voices (all to the default voice unless set)."""
    if name in mapping:
        return mapping[name]
    return default if name in OPENAI_VOICES else name


def _header(description: str, kind: str = "string") -> dict[str, Any]:
    return {"description": description, "schema": {"type": kind}}


SPEECH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Without `stream_format`: the complete file, as `POST /v1/tts` makes "
        "it (exact sizes and `Content-Length`, the signed AI-generated marking, served from "
        'the cache when it can be). With `stream_format: "audio"`: the same format, streamed '
        "as it is made (chunked; a WAV stream's header gives its sizes as unknown, and "
        'streams are not signed). With `"sse"`: `speech.audio.delta` events carrying base64 '
        "audio, then `speech.audio.done` with the usage. `pcm` is 24 kHz, as at OpenAI.",
        "content": {
            **{audio_format.media_type: {} for audio_format in AudioFormat},
            "text/event-stream": {},
        },
        "headers": {
            "X-Characters": _header("Characters of `input`, as billed", "integer"),
            "X-Sample-Rate": _header("Sample rate of the audio (Hz)", "integer"),
            "X-Cache": _header("`HIT` when the answer came from the response cache"),
            "X-Voice": _header("The voice that spoke (OpenAI's names are mapped)"),
            "X-AI-Generated": _header("Always `true`: the audio is AI-generated"),
            "X-Audio-Duration-Ms": _header("Complete files only: the audio's length", "integer"),
        },
    },
}
MODEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such model (`model_not_found`), in OpenAI's error shape"},
}


async def _create_speech_lean(request: Request) -> Response | None:
    """`create_speech` for a plain request, unsolved (see `vocalis.kit.lean`)."""
    body = await plain_body(request, SpeechCreate)
    if body is None:
        return None
    principal = await speech_caller(request)
    speech, settings = part(request, SpeechService), part(request, Settings)
    return await speak_openai(body, request, principal, speech, settings)


@router.post(
    "/audio/speech",
    response_class=Response,
    responses=SPEECH_RESPONSES,
    summary="OpenAI-compatible speech (the official openai SDK works unchanged)",
)
@lean(_create_speech_lean)
async def create_speech(
    body: SpeechCreate,
    request: Request,
    principal: SpeechCaller,
    speech: SpeechServiceDep,
    settings: SettingsDep,
) -> Response:
    """The complete file (cached, signed, exact sizes) unless the client asks to stream:
    `stream_format: "audio"` streams the audio as it is made, `"sse"` as server-sent events."""
    return await speak_openai(body, request, principal, speech, settings)


async def speak_openai(
    body: SpeechCreate,
    request: Request,
    principal: Principal,
    speech: SpeechService,
    settings: Settings,
) -> Response:
    started = time.perf_counter()
    if body.model not in OPENAI_MODELS:
        raise InvalidInput(
            f"model '{body.model}' does not exist; use one of {', '.join(OPENAI_MODELS)}",
            code="unknown_model",
        )
    voice = resolve_voice(body.voice, settings.openai_voices, settings.default_voice)
    rate = OPENAI_PCM_RATE if body.response_format is AudioFormat.PCM else None
    admitted = await speech.admit(
        principal, body.input, voice,
        speed=body.speed, audio_format=body.response_format, sample_rate=rate,
    )  # fmt: skip
    if "stream_format" not in body.model_fields_set:
        return await complete_file(request, admitted, speech, started=started)
    started_stream = await start_stream(request, admitted, speech)
    if body.stream_format == "sse":
        events = _events(started_stream.chunks, started_stream.stream)
        return StreamingResponse(
            events, media_type="text/event-stream", headers=started_stream.headers
        )
    return StreamingResponse(
        started_stream.chunks,
        media_type=body.response_format.media_type,
        headers=started_stream.headers,
    )


async def _events(
    chunks: AsyncIterator[bytes], stream: service.SpeechStream
) -> AsyncIterator[bytes]:
    """OpenAI's speech events: base64 audio deltas, then a done event with the usage."""
    async for chunk in chunks:
        if chunk:
            delta = {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()}
            yield f"data: {json.dumps(delta)}\n\n".encode()
    characters = stream.progress.characters
    done = {
        "type": "speech.audio.done",
        "usage": {"input_tokens": characters, "output_tokens": 0, "total_tokens": characters},
    }
    yield f"data: {json.dumps(done)}\n\n".encode()


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "vocalis"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


MODELS_CREATED = 1_790_000_000  # a fixed date: OpenAI's listing has one, ours never changes


@router.get("/models", response_model=ModelList, summary="Models, as OpenAI's SDK lists them")
async def list_models(_principal: SpeechCaller) -> ModelList:
    return ModelList(data=[Model(id=model, created=MODELS_CREATED) for model in OPENAI_MODELS])


class UnknownModel(NotFound):
    code = "model_not_found"


@router.get(
    "/models/{model_id}",
    response_model=Model,
    responses=MODEL_RESPONSES,
    summary="One model, as OpenAI's SDK reads it",
)
async def get_model(model_id: str, _principal: SpeechCaller) -> Model:
    if model_id not in OPENAI_MODELS:
        raise UnknownModel(
            f"the model '{model_id}' does not exist; use one of {', '.join(OPENAI_MODELS)}"
        )
    return Model(id=model_id, created=MODELS_CREATED)
