"""HTTP routes for jobs, batches and webhook signing secrets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts import web, websessions
from vocalis.accounts.deps import KeyResolverDep, WebPolicyDep, WebUser
from vocalis.accounts.service import Principal
from vocalis.accounts.web_schemas import AccountDeletion
from vocalis.config import Settings
from vocalis.jobs import service
from vocalis.jobs.deps import AudioStoreDep, JobIntakeDep, JobsCaller
from vocalis.jobs.intake import JobIntake
from vocalis.jobs.models import Job
from vocalis.jobs.schemas import BatchRequest, JobOut, JobRequest
from vocalis.kit.deps import ClockDep, DatabaseDep, SessionDep, SettingsDep, WriteSessionDep
from vocalis.kit.ids import new_id
from vocalis.kit.pagination import Page, PageDep
from vocalis.storage.files import AudioStore
from vocalis.usage.deps import LimiterDep, UsageRecorderDep
from vocalis.webhooks.deps import ResolverDep
from vocalis.webhooks.dispatcher import post_signed, webhook_client
from vocalis.webhooks.schemas import DeliveryOut, SigningSecret, WebhookTestIn, WebhookTestOut
from vocalis.webhooks.signing import rotate_signing_secret, secrets_in_use, signing_secret
from vocalis.webhooks.urls import check_webhook_url

router = APIRouter(tags=["jobs"])

IdempotencyKey = Annotated[
    str | None,
    Header(description="Retry safely: the same key and body return the same job (24 h)."),
]
JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


def _base_url(request: Request, settings: Settings) -> str:
    return settings.public_url or str(request.base_url)


def _job_out(
    job: Job, request: Request, settings: Settings, jobs_path: str = "/v1/tts/jobs"
) -> JobOut:
    return JobOut.from_job(
        job,
        base_url=_base_url(request, settings),
        retention_hours=settings.job_retention_hours,
        jobs_path=jobs_path,
    )


async def _submit(
    request: Request,
    principal: Principal,
    body: JobRequest | BatchRequest,
    intake: JobIntake,
    settings: Settings,
    idempotency_key: str | None,
) -> JSONResponse:
    submitted = await intake.submit(
        principal, body, endpoint=request.url.path, idempotency_key=idempotency_key
    )
    if submitted.admission is not None:
        admission = submitted.admission
        request.state.usage = {"voice": admission.voice, "language": admission.language}
    return _accepted(submitted.job, request, settings, replayed=submitted.replayed)


async def _audio_file(
    session: AsyncSession, store: AudioStore, job_id: str, account_id: str
) -> FileResponse:
    """A finished job's audio (a ZIP for batches), for its own account only."""
    job = await service.get_job(session, job_id, account_id)
    download = service.download_of(job)
    path = store.path_of(download.relative_path)
    if not await store.exists(download.relative_path):
        raise service.AudioExpired(f"the audio of job {job_id} is no longer stored")
    return FileResponse(path, media_type=download.media_type, filename=download.filename)


async def _deliveries(session: AsyncSession, job_id: str, account_id: str) -> list[DeliveryOut]:
    """A job's webhook deliveries with their attempts, for its own account only."""
    await service.get_job(session, job_id, account_id)
    return [
        DeliveryOut.from_delivery(delivery, attempts)
        for delivery, attempts in await service.deliveries_of(session, job_id)
    ]


async def _signing_secret(session: AsyncSession, account_id: str, now: datetime) -> SigningSecret:
    record = await signing_secret(session, account_id, now)
    overlapping = len(secrets_in_use(record, now)) > 1
    return SigningSecret(
        secret=record.secret,
        previous_valid_until=record.previous_expires_at if overlapping else None,
    )


async def _rotate_secret(
    session: AsyncSession, account_id: str, now: datetime, settings: Settings
) -> SigningSecret:
    overlap = timedelta(hours=settings.webhook_secret_overlap_hours)
    record = await rotate_signing_secret(session, account_id, now, overlap)
    return SigningSecret(secret=record.secret, previous_valid_until=record.previous_expires_at)


def _accepted(job: Job, request: Request, settings: Settings, *, replayed: bool) -> JSONResponse:
    headers = {"Location": f"/v1/tts/jobs/{job.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        _job_out(job, request, settings).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers=headers,
    )


@router.post(
    "/v1/tts/jobs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    summary="Queue a synthesis job; a signed webhook announces the result",
)
async def create_job(
    body: JobRequest,
    request: Request,
    principal: JobsCaller,
    intake: JobIntakeDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _submit(request, principal, body, intake, settings, idempotency_key)


@router.post(
    "/v1/tts/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    summary="Queue many texts as one job whose result is a ZIP of audio files and a manifest",
)
async def create_batch(
    body: BatchRequest,
    request: Request,
    principal: JobsCaller,
    intake: JobIntakeDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _submit(request, principal, body, intake, settings, idempotency_key)


@router.get("/v1/tts/jobs", response_model=Page[JobOut], summary="Your jobs, newest first")
async def list_jobs(
    request: Request,
    principal: JobsCaller,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
) -> Page[JobOut]:
    jobs, total = await service.list_jobs(
        session, principal.account_id, status=status_filter, limit=page.limit, offset=page.offset
    )
    return page.page([_job_out(job, request, settings) for job in jobs], total)


@router.get("/v1/tts/jobs/{job_id}", response_model=JobOut, summary="A job's status and result")
async def get_job(
    job_id: str, request: Request, principal: JobsCaller, session: SessionDep, settings: SettingsDep
) -> JobOut:
    return _job_out(await service.get_job(session, job_id, principal.account_id), request, settings)


@router.post(
    "/v1/tts/jobs/{job_id}/cancel", response_model=JobOut, summary="Cancel a queued or running job"
)
async def cancel_job(
    job_id: str,
    request: Request,
    principal: JobsCaller,
    settings: SettingsDep,
    intake: JobIntakeDep,
) -> JobOut:
    return _job_out(await intake.cancel(principal, job_id), request, settings)


@router.get(
    "/v1/tts/jobs/{job_id}/audio",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}, "application/zip": {}}}},
    summary="Download a finished job's audio (a ZIP for batches)",
)
async def job_audio(
    job_id: str, principal: JobsCaller, session: SessionDep, store: AudioStoreDep
) -> FileResponse:
    return await _audio_file(session, store, job_id, principal.account_id)


@router.get(
    "/v1/tts/jobs/{job_id}/webhooks",
    response_model=list[DeliveryOut],
    summary="The job's webhook deliveries and every attempt",
)
async def job_webhooks(
    job_id: str, principal: JobsCaller, session: SessionDep
) -> list[DeliveryOut]:
    return await _deliveries(session, job_id, principal.account_id)


@router.get("/v1/webhooks/secret", response_model=SigningSecret, tags=["webhooks"])
async def get_signing_secret(
    principal: JobsCaller, session: WriteSessionDep, clock: ClockDep
) -> SigningSecret:
    """The `whsec_…` secret your webhook receiver verifies signatures with."""
    return await _signing_secret(session, principal.account_id, clock.now())


@router.post("/v1/webhooks/secret/rotate", response_model=SigningSecret, tags=["webhooks"])
async def rotate_secret(
    principal: JobsCaller, session: WriteSessionDep, clock: ClockDep, settings: SettingsDep
) -> SigningSecret:
    """A new secret at once; until `previous_valid_until` webhooks carry both signatures."""
    return await _rotate_secret(session, principal.account_id, clock.now(), settings)


# --- the same, for a person logged in on the web ----------------------------------------------

account_router = APIRouter(prefix="/account", tags=["web accounts"])
ACCOUNT_JOBS = "/account/jobs"  # where a logged-in person downloads a job's audio
TESTS_PER_MINUTE = 10  # test webhooks an account may send a minute


@account_router.get("/jobs", response_model=Page[JobOut], summary="Your jobs, newest first")
async def list_own_jobs(
    request: Request,
    caller: WebUser,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
) -> Page[JobOut]:
    jobs, total = await service.list_jobs(
        session,
        caller.principal.account_id,
        status=status_filter,
        limit=page.limit,
        offset=page.offset,
    )
    return page.page([_job_out(job, request, settings, ACCOUNT_JOBS) for job in jobs], total)


@account_router.get("/jobs/{job_id}", response_model=JobOut, summary="A job's status and result")
async def get_own_job(
    job_id: str, request: Request, caller: WebUser, session: SessionDep, settings: SettingsDep
) -> JobOut:
    job = await service.get_job(session, job_id, caller.principal.account_id)
    return _job_out(job, request, settings, ACCOUNT_JOBS)


@account_router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses={409: {"description": "The job has already finished (`job_finished`)"}},
    summary="Cancel a queued or running job",
)
async def cancel_own_job(
    job_id: str, request: Request, caller: WebUser, settings: SettingsDep, intake: JobIntakeDep
) -> JobOut:
    return _job_out(await intake.cancel(caller.principal, job_id), request, settings, ACCOUNT_JOBS)


@account_router.get(
    "/jobs/{job_id}/audio",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}, "application/zip": {}}},
        409: {"description": "The job has not succeeded (`job_not_ready`)"},
        410: {"description": "The audio was deleted after the retention period (`audio_expired`)"},
    },
    summary="Download a finished job's audio (a ZIP for batches)",
)
async def own_job_audio(
    job_id: str, caller: WebUser, session: SessionDep, store: AudioStoreDep
) -> FileResponse:
    return await _audio_file(session, store, job_id, caller.principal.account_id)


@account_router.get(
    "/jobs/{job_id}/webhooks",
    response_model=list[DeliveryOut],
    summary="The job's webhook deliveries and every attempt",
)
async def own_job_webhooks(job_id: str, caller: WebUser, session: SessionDep) -> list[DeliveryOut]:
    return await _deliveries(session, job_id, caller.principal.account_id)


@account_router.get(
    "/webhooks/secret", response_model=SigningSecret, summary="Your webhook signing secret"
)
async def get_own_signing_secret(
    caller: WebUser, session: WriteSessionDep, clock: ClockDep
) -> SigningSecret:
    """The `whsec_…` secret your webhook receiver verifies signatures with."""
    return await _signing_secret(session, caller.principal.account_id, clock.now())


@account_router.post(
    "/webhooks/secret/rotate", response_model=SigningSecret, summary="Rotate your signing secret"
)
async def rotate_own_secret(
    caller: WebUser, session: WriteSessionDep, clock: ClockDep, settings: SettingsDep
) -> SigningSecret:
    """A new secret at once; until `previous_valid_until` webhooks carry both signatures."""
    return await _rotate_secret(session, caller.principal.account_id, clock.now(), settings)


@account_router.post(
    "/webhooks/test",
    response_model=WebhookTestOut,
    summary="Send a signed test event to a URL, now",
)
async def send_test_webhook(
    body: WebhookTestIn,
    caller: WebUser,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    resolver: ResolverDep,
    limiter: LimiterDep,
) -> WebhookTestOut:
    """A `webhook.test` event, signed like every webhook, sent once (no retries) so you can check
    your receiver and its signature check; the answer says how it went. Ten a minute at most."""
    limit = await limiter.hit(f"webhook-test:{caller.principal.account_id}", TESTS_PER_MINUTE)
    if limit is not None and not limit.allowed:
        raise limit.refusal()
    await check_webhook_url(body.url, resolver, allow_private=settings.webhook_allow_private)
    now = clock.now()
    async with database.session(write=True) as session:
        keys = secrets_in_use(await signing_secret(session, caller.principal.account_id, now), now)
    event_id = new_id("msg")
    payload = {
        "type": "webhook.test",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"account_id": caller.principal.account_id, "message": "Hello from Vocalis"},
    }
    async with webhook_client(settings.webhook_timeout_seconds) as client:
        outcome = await post_signed(
            client,
            resolver,
            url=body.url,
            message_id=event_id,
            payload=payload,
            keys=keys,
            allow_private=settings.webhook_allow_private,
            timeout=settings.webhook_timeout_seconds,
        )
    error = outcome.error
    if error is None and not outcome.delivered:
        error = f"the receiver answered {outcome.status_code}"
    return WebhookTestOut(
        delivered=outcome.delivered,
        status_code=outcome.status_code,
        error=error,
        duration_ms=outcome.duration_ms,
        event_id=event_id,
    )


@account_router.post(
    "/delete", status_code=status.HTTP_204_NO_CONTENT, summary="Delete your account, for good"
)
async def delete_account(
    body: AccountDeletion,
    caller: WebUser,
    database: DatabaseDep,
    intake: JobIntakeDep,
    store: AudioStoreDep,
    keys: KeyResolverDep,
    recorder: UsageRecorderDep,
    policy: WebPolicyDep,
) -> Response:
    """With the password: keys stop working at once, sessions end, personal data (email,
    password, job texts and audio) is erased; usage and billing records stay, anonymised."""
    account_id = caller.principal.account_id
    await web.confirm_password(database, account_id, body.password, policy=policy)
    await recorder.flush()  # the account's last requests' events, so they are anonymised too
    await intake.delete_account(account_id, store)
    keys.forget(account_id=account_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(websessions.COOKIE_NAME, path="/")
    return response
