"""Mail goes out where the jobs run: from the API process with VOCALIS_WORKER=inline, from
`vocalis worker` processes with `external` — and through Resend once a key is configured."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEST_PEPPER
from tests.mail.conftest import VERIFY_LINK, eventually, outbox, queue, the_mail
from tests.mail.fake_resend import API_KEY, FakeResend
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import ManualClock
from vocalis.runtime import Runtime


async def _sent_mail(runtime: Runtime) -> bool:
    mails = await outbox(runtime.database)
    return bool(mails) and mails[0].status == "sent"


async def test_the_inline_api_process_sends_mail(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    clock: ManualClock,
) -> None:
    settings = make_settings(database_url=database_url, worker="inline")
    runtime = Runtime(settings, registry=voices, clock=clock)
    try:
        async with runtime.serving():
            await queue(runtime.database, clock)
            runtime.mail.wake()
            await eventually(lambda: _sent_mail(runtime))
    finally:
        await runtime.close()

    written = (settings.storage_path / "mail" / "outbox.log").read_text()
    assert VERIFY_LINK in written.splitlines()


async def test_the_inline_api_process_sends_through_resend_when_a_key_is_set(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    clock: ManualClock,
    resend_api: FakeResend,
) -> None:
    settings = make_settings(
        database_url=database_url, resend_api_key=API_KEY, resend_api_base=resend_api.url
    )
    runtime = Runtime(settings, registry=voices, clock=clock)
    try:
        async with runtime.serving():
            await queue(runtime.database, clock, to="ada@example.com")
            runtime.mail.wake()
            await eventually(lambda: _sent_mail(runtime))
    finally:
        await runtime.close()

    [delivered] = resend_api.delivered
    assert delivered.body["to"] == ["ada@example.com"]
    assert delivered.body["from"] == settings.mail_from
    assert not (settings.storage_path / "mail").exists()


async def test_with_external_workers_the_api_process_leaves_mail_to_them(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    clock: ManualClock,
) -> None:
    settings = make_settings(database_url=database_url, worker="external")
    runtime = Runtime(settings, registry=voices, clock=clock)
    try:
        async with runtime.serving():
            await queue(runtime.database, clock)
            runtime.mail.wake()
            await asyncio.sleep(0.3)  # a started delivery would have sent it by now
            mail = await the_mail(runtime.database)
    finally:
        await runtime.close()

    assert (mail.status, mail.attempts) == ("pending", 0)
    assert not (settings.storage_path / "mail").exists()


@pytest.mark.slow  # a real `vocalis worker` process, which loads the voice before working
async def test_a_worker_process_sends_mail(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: ManualClock,
    resend_api: FakeResend,
    tmp_path: Path,
) -> None:
    settings = make_settings(database_url=sqlite_url, worker="external")
    runtime = Runtime(settings, clock=clock)
    await queue(runtime.database, clock, to="ada@example.com")
    env = {
        **os.environ,
        "VOCALIS_DATABASE_URL": sqlite_url,
        "VOCALIS_STORAGE_PATH": str(settings.storage_path),
        "VOCALIS_VOICES_DIR": str(settings.voices_dir),
        "VOCALIS_KEY_PEPPER": TEST_PEPPER,
        "VOCALIS_DEVICE": "cpu",
        "VOCALIS_WORKER": "external",
        "VOCALIS_RESEND_API_KEY": API_KEY,
        "VOCALIS_RESEND_API_BASE": resend_api.url,
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vocalis", "worker", env=env, stdout=log, stderr=log
        )
    try:
        await resend_api.wait_for_requests(1, timeout=60)
        await eventually(lambda: _sent_mail(runtime), timeout=10)
        mail = await the_mail(runtime.database)
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(worker.wait(), 30)
        await runtime.close()

    [delivered] = resend_api.delivered
    assert delivered.body["to"] == ["ada@example.com"]
    assert (delivered.idempotency_key, delivered.id) == (mail.id, mail.provider_id)
    assert exit_code == 0, (tmp_path / "worker.log").read_text()
