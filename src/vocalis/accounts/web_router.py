"""Web accounts over HTTP: sign-up, verification, login sessions and passwords (`/auth/…`), and
the logged-in person's own keys and password (`/account/…`), authenticated by the session
cookie. Every state-changing request with the cookie needs the CSRF token in `X-CSRF-Token`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from vocalis.accounts import web, websessions
from vocalis.accounts.deps import (
    KeyResolverDep,
    KeyUsageDep,
    MaybeWebUser,
    WebCaller,
    WebPolicyDep,
    WebUser,
    check_origin,
)
from vocalis.accounts.models import Account
from vocalis.accounts.schemas import KeyCreated, KeyFields, KeyOut
from vocalis.accounts.service import Scope, list_api_keys
from vocalis.accounts.web_schemas import (
    Accepted,
    Credentials,
    CsrfToken,
    EmailChange,
    EmailOnly,
    KeyRename,
    LoggedIn,
    Me,
    PasswordChange,
    PasswordReset,
    SessionState,
    TokenOnly,
)
from vocalis.kit.deps import ClockDep, DatabaseDep, SessionDep, SettingsDep, WriteSessionDep

auth = APIRouter(prefix="/auth", tags=["web accounts"])
account = APIRouter(prefix="/account", tags=["web accounts"])

CHECK_INBOX = "if the address can be used, a mail is on its way: follow its link"


@auth.post("/signup", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def sign_up(
    body: Credentials,
    request: Request,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> Accepted:
    """Create an account (Free plan) and mail a verification link. An address that already
    has an account gets the same answer; its owner gets a mail instead."""
    check_origin(request, policy)
    await web.sign_up(
        database,
        body.email,
        body.password,
        now=clock.now(),
        policy=policy,
        client_ip=request.state.client_ip,
    )
    return Accepted(detail=CHECK_INBOX)


@auth.post("/verify", response_model=Me, summary="Confirm an address with the mailed token")
async def verify(
    body: TokenOnly, session: WriteSessionDep, policy: WebPolicyDep, clock: ClockDep
) -> Me:
    account_row = await web.verify_email(session, body.token, now=clock.now(), policy=policy)
    return _me(account_row)


@auth.post("/verify/resend", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def resend_verification(
    body: EmailOnly, session: WriteSessionDep, policy: WebPolicyDep, clock: ClockDep
) -> Accepted:
    """Mail a new verification link (at most once a minute)."""
    await web.resend_verification(session, body.email, now=clock.now(), policy=policy)
    return Accepted(detail=CHECK_INBOX)


@auth.post("/login", response_model=LoggedIn, summary="Log in: sets the session cookie")
async def log_in(
    body: Credentials,
    request: Request,
    response: Response,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> LoggedIn:
    check_origin(request, policy)
    outcome = await web.log_in(
        database,
        body.email,
        body.password,
        now=clock.now(),
        policy=policy,
        client_ip=request.state.client_ip,
        user_agent=request.headers.get("user-agent"),
    )
    response.set_cookie(
        websessions.COOKIE_NAME,
        outcome.token,
        max_age=int(policy.session_lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=policy.base_url.startswith("https://"),
    )
    csrf = websessions.csrf_token(outcome.token, policy.pepper)
    return LoggedIn(**_me(outcome.account).model_dump(), csrf_token=csrf)


@auth.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
async def log_out(
    caller: WebUser, response: Response, session: WriteSessionDep, policy: WebPolicyDep
) -> Response:
    await web.log_out(session, caller.token, policy=policy)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(websessions.COOKIE_NAME, path="/")
    return response


@auth.get("/me", response_model=Me, summary="The logged-in account")
async def me(caller: WebUser) -> Me:
    return _caller_me(caller)


@auth.get("/session", response_model=SessionState, summary="Who is logged in, if anyone")
async def current_session(
    caller: MaybeWebUser, policy: WebPolicyDep, settings: SettingsDep
) -> SessionState:
    """What a page asks first: the account and its CSRF token, or nulls for a visitor (200
    either way: being logged out is not an error here); and whether mail really goes out."""
    delivery = "email" if settings.resend_api_key is not None else "log"
    if caller is None:
        return SessionState(account=None, csrf_token=None, mail_delivery=delivery)
    token = websessions.csrf_token(caller.token, policy.pepper)
    return SessionState(account=_caller_me(caller), csrf_token=token, mail_delivery=delivery)


def _caller_me(caller: WebCaller) -> Me:
    return Me(
        id=caller.principal.account_id,
        email=caller.email,
        email_verified=caller.email_verified,
        plan=caller.principal.plan,
        created_at=caller.created_at,
        is_admin=Scope.ADMIN.value in caller.principal.scopes,
    )


@auth.get("/csrf", response_model=CsrfToken, summary="The token state-changing requests echo")
async def csrf(caller: WebUser, policy: WebPolicyDep) -> CsrfToken:
    return CsrfToken(csrf_token=websessions.csrf_token(caller.token, policy.pepper))


@auth.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def forgot_password(
    body: EmailOnly,
    request: Request,
    session: WriteSessionDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> Accepted:
    """Mail a reset link, valid one hour, if the address has an account."""
    check_origin(request, policy)
    await web.forgot_password(session, body.email, now=clock.now(), policy=policy)
    return Accepted(detail=CHECK_INBOX)


@auth.post("/password/reset", response_model=Accepted, summary="Set a new password")
async def reset_password(
    body: PasswordReset,
    request: Request,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> Accepted:
    """With the mailed token: every session of the account ends; log in again."""
    check_origin(request, policy)
    await web.reset_password(database, body.token, body.password, now=clock.now(), policy=policy)
    return Accepted(detail="password changed; log in with the new one")


@auth.post("/email/confirm", response_model=Me, summary="Confirm a new address")
async def confirm_email(
    body: TokenOnly, session: WriteSessionDep, policy: WebPolicyDep, clock: ClockDep
) -> Me:
    """With the token mailed to the new address: the account moves to it."""
    return _me(await web.confirm_email_change(session, body.token, now=clock.now(), policy=policy))


# --- the logged-in person's own account ---------------------------------------------------------


@account.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Change the email address (confirmed from the new one)",
)
async def change_email(
    body: EmailChange,
    caller: WebUser,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> Accepted:
    await web.request_email_change(
        database,
        caller.principal.account_id,
        body.new_email,
        body.password,
        now=clock.now(),
        policy=policy,
    )
    return Accepted(detail=CHECK_INBOX)


@account.post("/password", status_code=status.HTTP_204_NO_CONTENT, summary="Change the password")
async def change_password(
    body: PasswordChange,
    caller: WebUser,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> Response:
    """Every other session of the account ends; this one goes on."""
    await web.change_password(
        database,
        caller.principal.account_id,
        body.current_password,
        body.new_password,
        now=clock.now(),
        policy=policy,
        keep_session=caller.session_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@account.get("/keys", response_model=list[KeyOut], summary="Your API keys")
async def list_keys(
    caller: WebUser, session: SessionDep, clock: ClockDep, usage: KeyUsageDep
) -> list[KeyOut]:
    keys = await list_api_keys(session, caller.principal.account_id)
    used = await usage.key_characters(session, [key.id for key in keys])
    return [KeyOut.from_key(key, clock.now(), used.get(key.id, 0)) for key in keys]


@account.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    summary="Create an API key (its secret is shown this once)",
)
async def create_key(
    body: KeyFields,
    caller: WebUser,
    session: WriteSessionDep,
    policy: WebPolicyDep,
    clock: ClockDep,
) -> KeyCreated:
    now = clock.now()
    key, secret = await web.create_own_key(
        session, caller.principal.account_id, body.options(), now=now, policy=policy
    )
    return KeyCreated(key=KeyOut.from_key(key, now), secret=secret)


@account.patch("/keys/{key_id}", response_model=KeyOut, summary="Rename an API key")
async def rename_key(
    key_id: str,
    body: KeyRename,
    caller: WebUser,
    session: WriteSessionDep,
    clock: ClockDep,
    usage: KeyUsageDep,
) -> KeyOut:
    key = await web.rename_own_key(
        session, caller.principal.account_id, key_id, body.name, now=clock.now()
    )
    used = await usage.key_characters(session, [key.id])
    return KeyOut.from_key(key, clock.now(), used.get(key.id, 0))


@account.delete(
    "/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key"
)
async def revoke_key(
    key_id: str,
    caller: WebUser,
    database: DatabaseDep,
    keys: KeyResolverDep,
    clock: ClockDep,
) -> Response:
    """Refused at once by this server; by others within the key cache's few seconds."""
    async with database.session(write=True) as session:
        await web.revoke_own_key(session, caller.principal.account_id, key_id, now=clock.now())
    keys.forget(key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _me(row: Account) -> Me:
    return Me(
        id=row.id,
        email=row.email,
        email_verified=row.email_verified_at is not None,
        plan=row.plan,
        created_at=row.created_at,
        is_admin=row.is_admin,
    )
