"""`vocalis`: serve the API, migrate the database, manage accounts, keys and voices."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

from vocalis.accounts import service as accounts
from vocalis.admin import service as admin
from vocalis.config import ConfigError, Settings, load_settings
from vocalis.kit.errors import VocalisError
from vocalis.kit.logs import configure_logging
from vocalis.runtime import Runtime

T = TypeVar("T")
CLI_ACTOR = admin.Actor("cli")

DEV_ACCOUNT_EMAIL = "dev@example.com"
DEV_ACCOUNT_PLAN = "scale"  # the largest allowance, so trying things locally never runs out

app = typer.Typer(
    help="Vocalis: a self-hostable text-to-speech API platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
accounts_app = typer.Typer(help="Customer accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
voices_app = typer.Typer(help="Installed voices.", no_args_is_help=True)
billing_app = typer.Typer(
    help="Stripe: products, prices and the usage meter.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(voices_app, name="voices")
app.add_typer(billing_app, name="billing")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (overrides defaults; env and flags win)."),
]


@app.callback()
def _root(ctx: typer.Context, config: ConfigOption = None) -> None:
    ctx.obj = {"config": config}


def _settings(ctx: typer.Context, config: Path | None = None, **flags: object) -> Settings:
    try:
        settings = load_settings(config or (ctx.obj or {}).get("config"), **flags)
        _check_plans(settings)
    except (ConfigError, ValueError) as exc:
        _fail(f"configuration error: {exc}")
    return settings


def _check_plans(settings: Settings) -> None:
    """VOCALIS_PLANS and VOCALIS_DEFAULT_PLAN are read by billing, not by the settings model:
    a bad one is named here, at start, rather than as a trace from the first request."""
    from vocalis.billing.plans import Catalogue

    plans = Catalogue(settings.plans, chars_per_second=settings.quota_chars_per_second)
    if settings.default_plan not in plans.ids:
        raise ValueError(
            f"VOCALIS_DEFAULT_PLAN '{settings.default_plan}' is not a plan ({', '.join(plans.ids)})"
        )


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _info(message: str) -> None:
    typer.echo(message, err=True)


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run one async task on a runtime (closed after it) and report domain errors as a clean
    message, not a trace."""

    async def main() -> T:
        runtime = Runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except VocalisError as exc:
        _fail(f"error: {exc.detail}", code=1)


# --- serve --------------------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default: 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: 8000).")] = None,
    config: ConfigOption = None,
) -> None:
    """Serve the HTTP API (voices load in the background; /readyz says when they are warm)."""
    import uvicorn

    from vocalis.app import create_app

    settings = _settings(ctx, config, host=host, port=port)
    _configure_logging(settings)
    _stopping_is_success()
    uvicorn.run(
        create_app(runtime=Runtime(settings)),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through vocalis.kit.logs (JSON in production)
        access_log=False,  # vocalis.access logs every request, with more
        proxy_headers=False,
        # SIGTERM: running requests get this long to finish, then are cancelled and refunded.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _stopping_is_success() -> None:
    """On SIGTERM or Ctrl-C uvicorn stops listening, lets running requests and streams finish
    (for VOCALIS_SHUTDOWN_GRACE_SECONDS), hands back the inline worker's jobs, and then raises
    the signal again for the handler it found. This is that handler: a server that stopped as
    asked exits 0, as `vocalis worker` does, instead of dying of the signal; one that arrives
    before uvicorn took over ends the process at once."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (default: VOCALIS_WORKER_CONCURRENCY)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run queued jobs, webhook deliveries, mail, Stripe events and retention until stopped
    (SIGTERM or Ctrl-C).

    For VOCALIS_WORKER=external: start as many as you like, on any machines that share the
    database and the storage path. A stopped worker finishes or hands back its jobs; a killed
    one's jobs are taken over when their lease runs out.
    """
    settings = _settings(ctx, config)
    _configure_logging(settings)
    asyncio.run(_run_worker(settings, concurrency))


async def _run_worker(settings: Settings, concurrency: int | None) -> None:
    import signal

    runtime = Runtime(settings)
    try:
        await runtime.engine.start()
        if not runtime.engine.ready:
            _fail(f"the speech engine could not start: {runtime.engine.load_error}", code=1)
        runner = runtime.job_runner(concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        runtime.alerts.start()
        work = [runner.run_until(stop), runtime.mail.run_until(stop)]
        if runtime.billing_worker is not None:
            work.append(runtime.billing_worker.run_until(stop))
        try:
            await asyncio.gather(*work)
        finally:
            await runtime.alerts.stop()
    finally:
        await runtime.close()
    _info(f"worker {runner.worker.worker_id} stopped")


def _configure_logging(settings: Settings) -> None:
    """JSON lines in production, text in development, no secret in either (`vocalis.kit.logs`)."""
    configure_logging(settings)


# --- db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from vocalis.kit import migrations

    settings = _settings(ctx)

    async def work(runtime: Runtime) -> str | None:
        await migrations.upgrade(runtime.database.engine, revision)
        return await migrations.current_revision(runtime.database.engine)

    current = _run(settings, work)
    _info(f"database at revision {current}")


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The file to write the copy to.")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
) -> None:
    """Copy the SQLite database into PATH as one consistent snapshot, safe while servers and
    workers keep writing. For PostgreSQL, prints the pg_dump command to use instead."""
    from vocalis.kit.backup import BackupError, backup_sqlite, pg_dump_command, sqlite_path

    settings = _settings(ctx)
    try:
        source = sqlite_path(settings.database_url)
        if source is None:
            _fail(
                "error: the database is PostgreSQL: back it up with pg_dump (its password from "
                "PGPASSWORD or ~/.pgpass), e.g.\n  " + pg_dump_command(settings.database_url, path),
                code=1,
            )
        result = backup_sqlite(source, path, force=force)
    except BackupError as exc:
        _fail(f"error: {exc}", code=1)
    _info(f"backed up {result.source} to {result.target} ({result.size} bytes)")


# --- doctor -------------------------------------------------------------------------------------


@app.command()
def doctor(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Print the effective configuration (secrets masked) and check what it names: the
    configuration itself (production's rules included), the database and its migrations, the
    storage path, the voices, Redis, Stripe and Resend. Exits 1 when a check fails."""
    from vocalis.admin import doctor as checks
    from vocalis.kit.redact import redact

    try:
        settings = load_settings(config or (ctx.obj or {}).get("config"), check=False)
    except ConfigError as exc:
        typer.echo(checks.Check("configuration", "FAIL", str(exc)).line())
        raise typer.Exit(1) from None
    problems = settings.problems()
    try:
        _check_plans(settings)
    except ValueError as exc:
        problems.append(redact(str(exc)))

    typer.echo("Configuration:")
    for line in checks.effective_configuration(settings):
        typer.echo(f"  {line}")

    async def work(runtime: Runtime) -> list[checks.Check]:
        return await checks.run_checks(
            settings,
            problems=problems,
            database=runtime.database,
            make_engine=lambda: runtime.engine,
        )

    results = _run(settings, work)
    typer.echo("Checks:")
    for result in results:
        typer.echo(f"  {result.line()}")
    failed = sum(result.failed for result in results)
    typer.echo(f"{failed} check(s) failed" if failed else "All checks passed.")
    raise typer.Exit(1 if failed else 0)


# --- accounts -----------------------------------------------------------------------------------

CharLimit = Annotated[
    int | None,
    typer.Option("--char-limit", min=0, help="Monthly characters, instead of the plan's."),
]
SecondsLimit = Annotated[
    int | None,
    typer.Option("--seconds-limit", min=0, help="Monthly audio seconds, instead of the plan's."),
]


@accounts_app.command("create")
def accounts_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="Login and contact address.")],
    plan: Annotated[
        str | None, typer.Option(help="Plan id (default: VOCALIS_DEFAULT_PLAN, free).")
    ] = None,
    char_limit: CharLimit = None,
    seconds_limit: SecondsLimit = None,
) -> None:
    """Create an account on a plan (its allowances unless given here); prints its id."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> str:
        now = runtime.clock.now()
        chosen = plan or settings.default_plan
        async with runtime.database.session(write=True) as session:
            account = await admin.create_account(
                session,
                CLI_ACTOR,
                email=email,
                plan=chosen,
                limits=accounts.AccountLimits(char_limit, seconds_limit),
                plans=runtime.plans.ids,
                now=now,
                details={"email": email, "plan": chosen},
            )
            return account.id

    typer.echo(_run(settings, work))


@accounts_app.command("set-limits")
def accounts_set_limits(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="The account.")],
    char_limit: CharLimit = None,
    seconds_limit: SecondsLimit = None,
    plan: Annotated[str | None, typer.Option(help="New plan id.")] = None,
) -> None:
    """Change an account's plan or its own monthly allowances; its use so far is kept."""
    settings = _settings(ctx)
    if char_limit is None and seconds_limit is None and plan is None:
        _fail("nothing to change: give --char-limit, --seconds-limit or --plan")

    async def work(runtime: Runtime) -> str:
        now = runtime.clock.now()
        changes = {"char_limit": char_limit, "seconds_limit": seconds_limit, "plan": plan}
        async with runtime.database.session(write=True) as session:
            account = await accounts.get_account_by_email(session, email)
            account = await admin.update_account(
                session,
                CLI_ACTOR,
                account.id,
                plan=plan,
                status=None,
                limits=accounts.AccountLimits(char_limit, seconds_limit),
                plans=runtime.plans.ids,
                now=now,
                details={name: value for name, value in changes.items() if value is not None},
            )
        allowance = runtime.meter.allowance_of(
            account.plan,
            account.char_limit,
            account.seconds_limit,
            spend_cap_cents=account.spend_cap_cents,
        )
        return (
            f"{account.email}: plan {account.plan}, {allowance.characters} characters and "
            f"{allowance.seconds} seconds a month"
        )

    typer.echo(_run(settings, work))


@accounts_app.command("set-admin")
def accounts_set_admin(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="The account.")],
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the operator's rights away instead.")
    ] = False,
) -> None:
    """Make an account an operator's: its web login may then use the admin API and the
    dashboard's admin pages (give it a password with `set-password` if it has none)."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> str:
        async with runtime.database.session(write=True) as session:
            account = await accounts.get_account_by_email(session, email)
            await admin.set_operator(
                session, CLI_ACTOR, account.id, not remove, now=runtime.clock.now()
            )
        return f"{email}: {'no longer an operator' if remove else 'operator'}"

    typer.echo(_run(settings, work))


@accounts_app.command("set-password")
def accounts_set_password(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="The account.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for (twice) unless given; at least 10 characters, at most 72 bytes.",
        ),
    ],
) -> None:
    """Set an account's password for the web login; its web sessions end."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> str:
        async with runtime.database.session(write=True) as session:
            account = await accounts.get_account_by_email(session, email)
            await admin.set_password(
                session,
                CLI_ACTOR,
                account.id,
                password,
                cost=settings.bcrypt_cost,
                now=runtime.clock.now(),
            )
        return f"password set for {account.email}"

    typer.echo(_run(settings, work))


# --- keys ---------------------------------------------------------------------------------------


def _split(values: str | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(v.strip() for v in values.split(",") if v.strip())


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="Email of the owning account.")],
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "default",
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: tts, jobs, usage:read, admin.")
    ] = ",".join(accounts.DEFAULT_SCOPES),
    rpm: Annotated[
        int | None,
        typer.Option(
            "--rpm", min=1, help="Requests per minute (default: VOCALIS_DEFAULT_RATE_LIMIT_RPM)."
        ),
    ] = None,
    char_cap: Annotated[
        int | None, typer.Option("--char-cap", min=0, help="This key's own monthly character cap.")
    ] = None,
    voices: Annotated[
        str | None, typer.Option(help="Comma-separated voice ids this key may use (default: all).")
    ] = None,
    cidrs: Annotated[
        str | None,
        typer.Option(help="Comma-separated client addresses/CIDRs allowed (default: any)."),
    ] = None,
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            min=1, max=36500, help="Expire the key after this many days (at most 100 years)."
        ),
    ] = None,
) -> None:
    """Create an API key. The key is printed alone on the last line of stdout, once."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> tuple[str, str]:
        now = runtime.clock.now()
        options = accounts.KeyOptions(
            name=name,
            scopes=_split(scopes) or (),
            rate_limit_rpm=rpm,
            monthly_char_cap=char_cap,
            allowed_voices=_split(voices),
            allowed_cidrs=_split(cidrs),
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        async with runtime.database.session(write=True) as session:
            owner = await accounts.get_account_by_email(session, account)
            key, raw = await admin.create_key(
                session,
                CLI_ACTOR,
                owner.id,
                options=options,
                pepper=settings.key_pepper.get_secret_value(),
                now=now,
                details={"name": name, "scopes": sorted(set(options.scopes))},
            )
            return key.id, raw

    key_id, raw = _run(settings, work)
    _info(f"created API key {key_id} for {account}; store it now, it is not shown again:")
    typer.echo(raw)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="Email of the owning account.")],
) -> None:
    """List an account's keys: id, prefix, name, scopes, rpm, state. Secrets are never shown."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> list[str]:
        now = runtime.clock.now()
        async with runtime.database.session() as session:
            owner = await accounts.get_account_by_email(session, account)
            return [
                "\t".join(
                    (
                        key.id,
                        f"{key.prefix}…",
                        key.name,
                        ",".join(key.scopes),
                        f"{key.rate_limit_rpm or settings.default_rate_limit_rpm}/min",
                        key.state(now),
                    )
                )
                for key in await accounts.list_api_keys(session, owner.id)
            ]

    for row in _run(settings, work):
        typer.echo(row)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID", help="Key id (key_…).")],
) -> None:
    """Revoke a key at once; the row is kept for audit."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> None:
        now = runtime.clock.now()
        async with runtime.database.session(write=True) as session:
            await admin.revoke_key(session, CLI_ACTOR, key_id, now=now)

    _run(settings, work)
    _info(f"revoked {key_id}")


@app.command("dev-key", hidden=False)
def dev_key(ctx: typer.Context) -> None:
    """Make sure a local development account and key exist, and print the key.

    The key has every scope, admin included, so the whole API can be tried locally. It is kept
    in VOCALIS_DEV_KEY_FILE (default data/dev-api-key) so later runs can print it again.
    Refused in production.
    """
    settings = _settings(ctx)
    if settings.env == "production":
        _fail("dev-key is for local development only")
    pepper = settings.key_pepper.get_secret_value()

    async def work(runtime: Runtime) -> str:
        now = runtime.clock.now()
        saved = _read_dev_key(settings.dev_key_file)
        async with runtime.database.session(write=True) as session:
            if saved:
                try:
                    await accounts.verify_api_key(session, saved, pepper=pepper, now=now)
                    return saved
                except VocalisError:
                    pass
            try:
                owner = await accounts.get_account_by_email(session, DEV_ACCOUNT_EMAIL)
            except VocalisError:
                owner = await accounts.create_account(
                    session,
                    DEV_ACCOUNT_EMAIL,
                    now=now,
                    plans=runtime.plans.ids,
                    plan=DEV_ACCOUNT_PLAN,
                )
            _, raw = await accounts.create_api_key(
                session,
                owner,
                pepper=pepper,
                now=now,
                options=accounts.KeyOptions(name="development", scopes=tuple(accounts.Scope)),
            )
        _write_dev_key(settings.dev_key_file, raw)
        return raw

    raw = _run(settings, work)
    _info(f"development API key for {DEV_ACCOUNT_EMAIL} (kept in {settings.dev_key_file}):")
    typer.echo(raw)


def _read_dev_key(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _write_dev_key(path: Path, raw: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(raw + "\n")


# --- voices -------------------------------------------------------------------------------------


@voices_app.command("list")
def voices_list(ctx: typer.Context) -> None:
    """Load the voices the server would load and list them."""
    settings = _settings(ctx)
    engine = Runtime(settings).engine  # built, not started: nothing to close
    engine.registry.load(engine.device)
    for voice in engine.registry.voices():
        marker = "*" if voice.id == settings.default_voice else " "
        gender = voice.gender or "-"
        rate = f"{voice.sample_rate} Hz"
        typer.echo(f"{marker} {voice.id}\t{voice.language}\t{gender}\t{rate}\t{voice.backend}")


@app.command("openapi")
def openapi_schema(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI schema, as /openapi.json serves it (the dashboard's client is made
    from it)."""
    from vocalis.app import create_app

    schema = json.dumps(create_app(_settings(ctx)).openapi(), indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(schema, nl=False)
    else:
        output.write_text(schema)


# --- billing ------------------------------------------------------------------------------------


@billing_app.command("sync")
def billing_sync(ctx: typer.Context) -> None:
    """Create or update in Stripe the Products, Prices and Billing Meter the plans need.

    Safe to run again: what already matches is left alone. Plans are found by their price's
    lookup key, so the same plans work with a test-mode and a live-mode key.
    """
    from vocalis.billing.sync import sync_catalogue

    settings = _settings(ctx)
    if settings.stripe_secret_key is None:
        _fail("error: set VOCALIS_STRIPE_SECRET_KEY first", code=1)

    async def work(runtime: Runtime) -> list[str]:
        assert runtime.stripe is not None
        return await sync_catalogue(runtime.stripe, runtime.plans)

    import stripe

    try:
        lines = _run(settings, work)
    except stripe.StripeError as error:
        _fail(f"error: Stripe refused: {error.user_message or type(error).__name__}", code=1)
    for line in lines:
        typer.echo(line)


def main() -> None:
    app(prog_name="vocalis")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
