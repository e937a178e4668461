"""Batch synthesis: many texts, one job, one ZIP with a manifest."""

import io
import json
import zipfile
from typing import Any

import httpx

from tests.helpers import decode, decode_wav, transcribe, wait_for_job, word_recall
from vocalis.engine.text import normalize

ITEMS = [
    {"text": "Good morning and welcome.", "id": "intro"},
    {"text": "Please call me tomorrow morning."},
    {"text": "See you later.", "id": "outro.v2"},
]


async def test_batch_zip_holds_every_item_and_a_manifest(
    client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key}
    submitted = await client.post("/v1/tts/batch", json={"items": ITEMS}, headers=headers)
    assert submitted.status_code == 202
    job = submitted.json()
    assert (job["kind"], job["items"]) == ("batch", 3)
    assert job["characters"] == sum(len(normalize(item["text"])) for item in ITEMS)

    done = await wait_for_job(client, job["job_id"], headers, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    download = await client.get(done["audio_url"], headers=headers)
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].endswith(
        f'filename="vocalis-{job["job_id"]}.zip"'
    )

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert sorted(archive.namelist()) == ["002.wav", "intro.wav", "manifest.json", "outro.v2.wav"]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["job_id"] == job["job_id"] and manifest["format"] == "wav"
    assert [entry["id"] for entry in manifest["items"]] == ["intro", "002", "outro.v2"]
    total, heard = 0.0, []
    for entry, item in zip(manifest["items"], ITEMS, strict=True):
        audio = decode_wav(archive.read(entry["file"]))
        assert abs(audio.duration - entry["duration_seconds"]) < 0.002
        assert entry["characters"] == len(normalize(item["text"]))
        assert entry["voice"] == "en_US-joe-medium"
        total += audio.duration
        heard.append(transcribe(audio.samples, audio.sample_rate))
        assert word_recall(item["text"], heard[-1]) >= 0.5  # each file says its own item
    sent = " ".join(item["text"] for item in ITEMS)
    assert word_recall(sent, " ".join(heard)) >= 0.75
    assert abs(done["audio_seconds"] - total) < 0.01


async def test_bad_batches_are_refused_whole(client: httpx.AsyncClient, api_key: str) -> None:
    headers = {"X-API-Key": api_key}
    cases: list[tuple[Any, str]] = [
        ({"items": []}, "validation_error"),
        ({"items": [{"text": "Hi.", "id": "../etc/passwd"}]}, "validation_error"),
        ({"items": [{"text": "Hi.", "id": "a"}, {"text": "Yo.", "id": "a"}]}, "validation_error"),
        ({"items": [{"text": "Hi."}, {"text": "  "}]}, "empty_text"),
        ({"items": [{"text": "Hi.", "voice": "nope"}]}, "unknown_voice"),
        ({"items": [{"text": "Hi."}] * 101}, "too_many_items"),
    ]
    for body, code in cases:
        response = await client.post("/v1/tts/batch", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["code"] == code, response.json()
    bad_item = await client.post(
        "/v1/tts/batch", json={"items": [{"text": "Hi."}, {"text": ""}]}, headers=headers
    )
    assert bad_item.json()["detail"].startswith("items[1]: ")
    assert (await client.get("/v1/tts/jobs", headers=headers)).json()["total"] == 0


async def test_item_ids_name_distinct_files_on_every_system(
    client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key}
    clashes = [  # the second item would be numbered 002 too; file systems ignore case
        ([{"text": "Hi.", "id": "002"}, {"text": "Yo."}], "items[0] and items[1]", "'002'"),
        ([{"text": "Hi.", "id": "Up"}, {"text": "Yo.", "id": "up"}], "items[0] and", "'up'"),
    ]
    for items, where, name in clashes:
        response = await client.post("/v1/tts/batch", json={"items": items}, headers=headers)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
        assert where in response.json()["detail"] and name in response.json()["detail"]
    for unsafe in ("CON", "nul", "com1.v2", "Lpt9", "intro."):  # names Windows refuses
        items = [{"text": "Hi.", "id": unsafe}]
        response = await client.post("/v1/tts/batch", json={"items": items}, headers=headers)
        assert response.status_code == 422, unsafe
        assert response.json()["detail"].startswith("items[0].id: "), response.json()
    assert (await client.get("/v1/tts/jobs", headers=headers)).json()["total"] == 0


async def test_jobs_take_every_format_and_sample_rate(
    client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key}
    body = {"text": "Please call me tomorrow morning.", "format": "mp3", "sample_rate": 16000}
    job = (await client.post("/v1/tts/jobs", json=body, headers=headers)).json()
    done = await wait_for_job(client, job["job_id"], headers, {"succeeded", "failed"})
    download = await client.get(done["audio_url"], headers=headers)
    assert download.headers["content-type"] == "audio/mpeg"
    assert download.headers["content-disposition"].endswith('.mp3"')
    audio = decode(download.content)
    assert audio.sample_rate == 16000 and abs(audio.duration - done["audio_seconds"]) < 0.2

    items = [{"text": "Good morning and welcome."}, {"text": "See you later."}]
    batch = (
        await client.post(
            "/v1/tts/batch", json={"items": items, "format": "ulaw_8000"}, headers=headers
        )
    ).json()
    done = await wait_for_job(client, batch["job_id"], headers, {"succeeded", "failed"})
    archive = zipfile.ZipFile(
        io.BytesIO((await client.get(done["audio_url"], headers=headers)).content)
    )
    assert sorted(archive.namelist()) == ["001.ulaw", "002.ulaw", "manifest.json"]
    assert json.loads(archive.read("manifest.json"))["format"] == "ulaw_8000"
    telephone = decode(archive.read("001.ulaw"), raw="mulaw", rate=8000)
    assert telephone.sample_rate == 8000 and telephone.duration > 1.0

    refused = await client.post(
        "/v1/tts/jobs", json={"text": "Hi.", "format": "mp3", "sample_rate": 44000}, headers=headers
    )
    assert refused.json()["code"] == "unsupported_sample_rate"
