"""Web accounts: sign-up, address verification, login sessions, password reset and change.

No answer tells whether an address has an account: sign-up, login, resending the verification
mail and forgotten passwords answer the same for known and unknown addresses, and do the same
work (a bcrypt hash or check either way); what differs goes by mail to the address's owner.
Every mail is written to the outbox in the transaction of the change that causes it.

bcrypt takes a quarter of a second on purpose, and SQLite has one writer: the flows that hash
or check a password take the `Database`, not a session, so that they can do it outside any
write transaction — a login never holds up everyone else's writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts import passwords, tokens, websessions
from vocalis.accounts.models import Account, ApiKey
from vocalis.accounts.service import (
    DEFAULT_SCOPES,
    KeyOptions,
    Principal,
    Scope,
    billing_period,
    create_api_key,
    get_api_key,
    normalize_email,
    revoke_api_key,
)
from vocalis.accounts.throttle import LoginThrottle
from vocalis.kit.audit import audit
from vocalis.kit.db import Database
from vocalis.kit.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from vocalis.mail.outbox import enqueue

RESEND_COOLDOWN = timedelta(seconds=60)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class SignupClosed(Forbidden):
    code = "signup_closed"


class WrongPassword(Forbidden):
    code = "wrong_password"


@dataclass(frozen=True)
class WebPolicy:
    """What the rules need from the settings."""

    pepper: str
    bcrypt_cost: int
    session_lifetime: timedelta
    base_url: str
    signup_open: bool
    default_plan: str
    throttle: LoginThrottle

    def link(self, path: str, **query: str) -> str:
        return f"{self.base_url}{path}?{urlencode(query)}" if query else f"{self.base_url}{path}"


@dataclass(frozen=True)
class Login:
    account: Account
    token: str  # the session cookie's value


async def sign_up(
    database: Database,
    email: str,
    password: str,
    *,
    now: datetime,
    policy: WebPolicy,
    client_ip: str | None = None,
) -> None:
    """A new, unverified account on the default plan, and a verification link by mail; for an
    address that has an account, a mail to its owner instead — the caller cannot tell which."""
    if not policy.signup_open:
        raise SignupClosed("sign-up is closed on this server; ask its operator for an account")
    address = normalize_email(email)
    passwords.check_strength(password, email=address)
    password_hash = await passwords.hash_password(password, policy.bcrypt_cost)
    async with database.session(write=True) as session:
        existing = await _account_by_email(session, address)
        if existing is not None:
            await enqueue(  # one a minute at most: sign-up is not a way to flood an inbox
                session,
                dedupe_key=f"signup_existing:{existing.id}:{now:%Y-%m-%dT%H:%M}",
                to=address,
                template="signup_existing",
                context={
                    "login_link": policy.link("/login"),
                    "reset_link": policy.link("/forgot-password"),
                },
                base_url=policy.base_url,
                now=now,
            )
            await _audit(session, "signup_existing_address", existing.id, now, client_ip)
            return
        account = Account(
            email=address,
            password_hash=password_hash,
            plan=policy.default_plan,
            status="active",
            created_at=now,
            updated_at=now,
        )
        session.add(account)
        await session.flush()
        await _mail_verification(session, account, now=now, policy=policy)
        await _audit(session, "signup", account.id, now, client_ip)


async def verify_email(
    session: AsyncSession, token: str, *, now: datetime, policy: WebPolicy
) -> Account:
    spent = await tokens.spend_token(
        session, token, purpose=tokens.VERIFY_EMAIL, now=now, pepper=policy.pepper
    )
    account = await _account(session, spent.account_id)
    if account.email_verified_at is None:
        account.email_verified_at = now
        account.updated_at = now
        await _audit(session, "email_verified", account.id, now)
    return account


async def resend_verification(
    session: AsyncSession, email: str, *, now: datetime, policy: WebPolicy
) -> None:
    """Mail a fresh link to an unverified address, at most once a minute; silently nothing
    for an unknown or verified one."""
    account = await _account_by_email(session, normalize_email(email))
    if account is None or account.email_verified_at is not None:
        return
    last = await tokens.last_issued_at(session, account_id=account.id, purpose=tokens.VERIFY_EMAIL)
    if last is not None and now - last < RESEND_COOLDOWN:
        return
    await _mail_verification(session, account, now=now, policy=policy)


async def log_in(
    database: Database,
    email: str,
    password: str,
    *,
    now: datetime,
    policy: WebPolicy,
    client_ip: str | None,
    user_agent: str | None,
) -> Login:
    """A new session for the right password; the same 401 for a wrong one and for an unknown
    address, after the same bcrypt work. Failures count against the address and the client,
    and leave an audit row as successes do."""
    address = _login_address(email)
    subjects = [f"address:{address}"] + ([f"client:{client_ip}"] if client_ip else [])
    await policy.throttle.check(*subjects)
    async with database.session() as session:
        account = await _account_by_email(session, address)
    valid = await passwords.verify_password(
        password,
        account.password_hash if account is not None else None,
        cost=policy.bcrypt_cost,
    )
    async with database.session(write=True) as session:
        if account is None or not valid:
            await policy.throttle.failed(*subjects)
            await _audit(
                session,
                "login_failed",
                account.id if account else "-",
                now,
                client_ip,
                email=address,
            )
            failed = True
        elif not account.is_active:
            await _audit(session, "login_refused_suspended", account.id, now, client_ip)
            failed = False
        else:
            token = await websessions.open_session(
                session,
                account_id=account.id,
                now=now,
                lifetime=policy.session_lifetime,
                pepper=policy.pepper,
                client_ip=client_ip,
                user_agent=user_agent,
            )
            await _audit(session, "login", account.id, now, client_ip)
            return Login(account, token)
    # Raised after the unit of work, so that the refusal's audit row is committed.
    if failed:
        raise InvalidCredentials("wrong email address or password")
    raise Forbidden("this account is suspended", code="account_suspended")


async def forgot_password(
    session: AsyncSession, email: str, *, now: datetime, policy: WebPolicy
) -> None:
    """Mail a reset link (valid 1 h) if the address has an account; nothing otherwise."""
    account = await _account_by_email(session, normalize_email(email))
    if account is None:
        return
    last = await tokens.last_issued_at(
        session, account_id=account.id, purpose=tokens.RESET_PASSWORD
    )
    if last is not None and now - last < RESEND_COOLDOWN:
        return  # the link sent a moment ago still works: no flood of mail
    raw = await tokens.issue_token(
        session, account_id=account.id, purpose=tokens.RESET_PASSWORD, now=now, pepper=policy.pepper
    )
    await enqueue(
        session,
        to=account.email,
        template="reset_password",
        context={"link": policy.link("/reset-password", token=raw)},
        base_url=policy.base_url,
        now=now,
    )


async def reset_password(
    database: Database, token: str, password: str, *, now: datetime, policy: WebPolicy
) -> None:
    """Set a new password from a mailed link; every session of the account ends. Following
    the link also proves the address, so an unverified one becomes verified."""
    passwords.check_strength(password)
    password_hash = await passwords.hash_password(password, policy.bcrypt_cost)
    async with database.session(write=True) as session:
        spent = await tokens.spend_token(
            session, token, purpose=tokens.RESET_PASSWORD, now=now, pepper=policy.pepper
        )
        account = await _account(session, spent.account_id)
        passwords.check_strength(password, email=account.email)
        await _set_password(session, account, password_hash, now=now, policy=policy, keep=None)
        if account.email_verified_at is None:
            account.email_verified_at = now
        await _audit(session, "password_reset", account.id, now)


async def change_password(
    database: Database,
    account_id: str,
    current: str,
    new: str,
    *,
    now: datetime,
    policy: WebPolicy,
    keep_session: str | None,
) -> None:
    """Change a password knowing the current one; every other session ends."""
    account = await confirm_password(database, account_id, current, policy=policy)
    passwords.check_strength(new, email=account.email)
    password_hash = await passwords.hash_password(new, policy.bcrypt_cost)
    async with database.session(write=True) as session:
        account = await _account(session, account_id)
        await _set_password(
            session, account, password_hash, now=now, policy=policy, keep=keep_session
        )
        await _audit(session, "password_changed", account.id, now)


async def request_email_change(
    database: Database,
    account_id: str,
    new_email: str,
    password: str,
    *,
    now: datetime,
    policy: WebPolicy,
) -> None:
    """Mail a confirmation link to the new address (the password proves it is the owner who
    asks). An address that already has an account gets nothing, and the answer is the same."""
    address = normalize_email(new_email)
    account = await confirm_password(database, account_id, password, policy=policy)
    async with database.session(write=True) as session:
        if address == account.email or await _account_by_email(session, address) is not None:
            return
        raw = await tokens.issue_token(
            session,
            account_id=account_id,
            purpose=tokens.CHANGE_EMAIL,
            now=now,
            pepper=policy.pepper,
            new_email=address,
        )
        await enqueue(
            session,
            to=address,
            template="confirm_new_email",
            context={"link": policy.link("/confirm-email", token=raw)},
            base_url=policy.base_url,
            now=now,
        )


async def confirm_email_change(
    session: AsyncSession, token: str, *, now: datetime, policy: WebPolicy
) -> Account:
    """Move the account to the confirmed address, tell the old one, and keep the sessions."""
    spent = await tokens.spend_token(
        session, token, purpose=tokens.CHANGE_EMAIL, now=now, pepper=policy.pepper
    )
    account = await _account(session, spent.account_id)
    new_email = spent.new_email or ""
    if await _account_by_email(session, new_email) is not None:
        raise Conflict("that address now belongs to another account", code="email_taken")
    old_email = account.email
    account.email = new_email
    account.email_verified_at = now
    account.updated_at = now
    await enqueue(
        session,
        to=old_email,
        template="email_changed",
        context={"new_email": new_email},
        base_url=policy.base_url,
        now=now,
    )
    await _audit(session, "email_changed", account.id, now)
    return account


async def confirm_password(
    database: Database, account_id: str, password: str, *, policy: WebPolicy
) -> Account:
    """Ask for the password again before a change that matters. Wrong answers count against
    the account as failed logins do, so a stolen session cannot be used to guess it."""
    subject = f"account:{account_id}"
    await policy.throttle.check(subject)
    async with database.session() as session:
        account = await _account(session, account_id)
    if not await passwords.verify_password(password, account.password_hash):
        await policy.throttle.failed(subject)
        raise WrongPassword("the password is not right")
    return account


async def log_out(session: AsyncSession, token: str, *, policy: WebPolicy) -> None:
    await websessions.end_session(session, token, pepper=policy.pepper)


async def create_own_key(
    session: AsyncSession,
    account_id: str,
    options: KeyOptions,
    *,
    now: datetime,
    policy: WebPolicy,
) -> tuple[ApiKey, str]:
    """A key for one's own account, once the address is verified; never an admin key."""
    account = await _account(session, account_id)
    if account.email_verified_at is None:
        raise Forbidden(
            "confirm your email address first (the link is in your inbox)",
            code="email_not_verified",
        )
    if Scope.ADMIN.value in options.scopes:
        raise Forbidden("the admin scope is for operators only", code="scope_not_allowed")
    key, secret = await create_api_key(
        session, account, pepper=policy.pepper, now=now, options=options
    )
    await _audit(session, "key.create", account.id, now, key_id=key.id)
    return key, secret


async def rename_own_key(
    session: AsyncSession, account_id: str, key_id: str, name: str, *, now: datetime
) -> ApiKey:
    key = await get_api_key(session, key_id, account_id=account_id)
    key.name = name
    await session.flush()
    return key


async def revoke_own_key(
    session: AsyncSession, account_id: str, key_id: str, *, now: datetime
) -> ApiKey:
    key = await get_api_key(session, key_id, account_id=account_id)
    revoked = await revoke_api_key(session, key.id, now=now)
    await _audit(session, "key.revoke", account_id, now, key_id=key.id)
    return revoked


def web_principal(account: Account, session_id: str) -> Principal:
    """The caller of a session: the account, with what a user may do themself (never admin).
    `key_id` names the session, so that nothing is ever counted on a key's row for it."""
    return Principal(
        account_id=account.id,
        key_id=session_id,
        scopes=frozenset(
            [scope.value for scope in DEFAULT_SCOPES]
            + ([Scope.ADMIN.value] if account.is_admin else [])
        ),
        last_used_at=None,
        plan=account.plan,
        char_limit=account.char_limit,
        seconds_limit=account.seconds_limit,
        spend_cap_cents=account.spend_cap_cents,
        billing_period=billing_period(account.billing_period_start, account.billing_period_end),
    )


# --- helpers ------------------------------------------------------------------------------------


async def _set_password(
    session: AsyncSession,
    account: Account,
    password_hash: str,
    *,
    now: datetime,
    policy: WebPolicy,
    keep: str | None,
) -> None:
    account.password_hash = password_hash
    account.updated_at = now
    await websessions.end_other_sessions(session, account_id=account.id, keep_session_id=keep)
    await enqueue(
        session,
        to=account.email,
        template="password_changed",
        context={},
        base_url=policy.base_url,
        now=now,
    )


async def _mail_verification(
    session: AsyncSession, account: Account, *, now: datetime, policy: WebPolicy
) -> None:
    raw = await tokens.issue_token(
        session, account_id=account.id, purpose=tokens.VERIFY_EMAIL, now=now, pepper=policy.pepper
    )
    await enqueue(
        session,
        to=account.email,
        template="verify_email",
        context={"link": policy.link("/verify", token=raw)},
        base_url=policy.base_url,
        now=now,
    )


def _login_address(email: str) -> str:
    """The address as sign-up stored it (normalized); one that cannot be an address is looked
    up as typed, finds nothing, and gets the same 401 as any wrong login."""
    try:
        return normalize_email(email)
    except InvalidInput:
        return email.strip().lower()


async def _account_by_email(session: AsyncSession, address: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == address))


async def _account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:  # deleted since the token or session was made
        raise tokens.InvalidToken("this link is invalid or has expired; ask for a new one")
    return account


async def _audit(
    session: AsyncSession,
    action: str,
    account_id: str,
    now: datetime,
    client_ip: str | None = None,
    **details: str,
) -> None:
    await audit(
        session,
        actor=f"account:{account_id}" if account_id != "-" else "anonymous",
        action=action,
        target_type="account",
        target_id=account_id,
        now=now,
        details=dict(details),
        client_ip=client_ip,
    )
