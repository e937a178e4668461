"""Settings layering: defaults → TOML file → environment → CLI flags."""

from pathlib import Path

import pytest

from vocalis.config import DEVELOPMENT_PEPPER, ConfigError, load_settings


def test_defaults_work_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOCALIS_CONFIG", raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./data/vocalis.db"
    assert (settings.host, settings.port, settings.max_text_chars) == ("127.0.0.1", 8000, 5000)
    assert settings.default_voice == "en_US-joe-medium"
    assert settings.key_pepper.get_secret_value() == DEVELOPMENT_PEPPER


def test_each_layer_overrides_the_one_below(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "vocalis.toml"
    config.write_text('port = 9001\nmax_text_chars = 100\nhost = "0.0.0.0"\nlog_level = "debug"\n')

    from_file = load_settings(config)
    assert (from_file.port, from_file.max_text_chars, from_file.host) == (9001, 100, "0.0.0.0")

    monkeypatch.setenv("VOCALIS_PORT", "9002")
    monkeypatch.setenv("VOCALIS_MAX_TEXT_CHARS", "200")
    from_env = load_settings(config)
    assert (from_env.port, from_env.max_text_chars, from_env.host) == (9002, 200, "0.0.0.0")

    from_flags = load_settings(config, port=9003, host=None)
    assert (from_flags.port, from_flags.max_text_chars, from_flags.host) == (9003, 200, "0.0.0.0")
    assert from_flags.log_level == "debug"


def test_config_file_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "vocalis.toml"
    config.write_text("port = 9100\n")
    monkeypatch.setenv("VOCALIS_CONFIG", str(config))
    assert load_settings().port == 9100


def test_missing_file_and_bad_values_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('port = "eighty"\n')
    with pytest.raises(ConfigError, match="port"):
        load_settings(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("prot = 80\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(typo)


GOOD_PRODUCTION = {
    "VOCALIS_ENV": "production",
    "VOCALIS_KEY_PEPPER": "pepper-Zq8v-" + "p" * 32,
    "VOCALIS_PUBLIC_URL": "https://tts.example.com",
    "VOCALIS_DATABASE_URL": "postgresql+asyncpg://vocalis:s3cret@db/vocalis",
    "VOCALIS_RESEND_API_KEY": "re_Rk7x_resend_key",
    "VOCALIS_MAIL_FROM": "Vocalis <no-reply@tts.example.com>",
    "VOCALIS_STRIPE_SECRET_KEY": "sk_live_Sk9w_stripe_key",
    "VOCALIS_STRIPE_WEBHOOK_SECRET": "whsec_Wh3y_signing_secret",
    "VOCALIS_METRICS_TOKEN": "m" * 32,
}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A production configuration that starts; each test spoils one part of it."""
    for name, value in GOOD_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_a_good_production_configuration_starts(production: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.env == "production" and settings.problems() == []
    assert settings.base_url == "https://tts.example.com"


def test_production_refuses_the_development_pepper(production: pytest.MonkeyPatch) -> None:
    production.delenv("VOCALIS_KEY_PEPPER")
    with pytest.raises(ConfigError, match="VOCALIS_KEY_PEPPER .* not the development default"):
        load_settings()
    production.setenv("VOCALIS_KEY_PEPPER", "a-real-secret-from-the-operator-of-this-server")
    assert load_settings().env == "production"


@pytest.mark.parametrize(
    "pepper", ["", "8chars!!", "x" * 31, "é" * 15], ids=["empty", "8", "31", "30-as-15-chars"]
)
def test_production_refuses_a_short_pepper_without_echoing_it(
    production: pytest.MonkeyPatch, pepper: str
) -> None:
    production.setenv("VOCALIS_KEY_PEPPER", pepper)
    with pytest.raises(ConfigError, match="VOCALIS_KEY_PEPPER must be at least 32 bytes") as error:
        load_settings()
    assert not pepper or pepper not in str(error.value)
    production.setenv("VOCALIS_KEY_PEPPER", "é" * 16)  # bytes, not characters, are counted
    assert load_settings().key_pepper.get_secret_value() == "é" * 16


@pytest.mark.parametrize(
    ("spoiled", "says"),
    [
        ({"VOCALIS_STRIPE_WEBHOOK_SECRET": None}, "VOCALIS_STRIPE_WEBHOOK_SECRET together"),
        ({"VOCALIS_STRIPE_SECRET_KEY": None}, "VOCALIS_STRIPE_WEBHOOK_SECRET together"),
        ({"VOCALIS_MAIL_FROM": None}, "VOCALIS_MAIL_FROM is the development sender"),
        (
            {"VOCALIS_MAIL_FROM": "Ops <ops@mail.vocalis.local>"},
            "VOCALIS_MAIL_FROM is the development sender",
        ),
        ({"VOCALIS_MAIL_FROM": "nobody"}, "VOCALIS_MAIL_FROM is not an email address"),
        ({"VOCALIS_RESEND_API_KEY": None}, "VOCALIS_RESEND_API_KEY is not set"),
        ({"VOCALIS_RESEND_API_KEY": ""}, "VOCALIS_RESEND_API_KEY is not set"),
        ({"VOCALIS_PUBLIC_URL": None}, "VOCALIS_PUBLIC_URL must be the https:// address"),
        (
            {"VOCALIS_PUBLIC_URL": "http://tts.example.com"},
            "VOCALIS_PUBLIC_URL must be the https:// address",
        ),
        ({"VOCALIS_PUBLIC_URL": "https://"}, "VOCALIS_PUBLIC_URL must be the https:// address"),
        ({"VOCALIS_DATABASE_URL": None}, "VOCALIS_DATABASE_URL is SQLite"),
        (
            {"VOCALIS_DATABASE_URL": "sqlite+aiosqlite:////srv/vocalis.db"},
            "VOCALIS_DATABASE_URL is SQLite",
        ),
        ({"VOCALIS_METRICS_TOKEN": "m" * 31}, "VOCALIS_METRICS_TOKEN must be at least 32 bytes"),
    ],
    ids=[
        "stripe-without-webhook-secret",
        "stripe-without-key",
        "resend-with-development-sender",
        "resend-with-development-subdomain",
        "resend-with-no-address",
        "no-mail-service",
        "blank-mail-key",
        "no-public-url",
        "http-public-url",
        "public-url-without-host",
        "default-sqlite",
        "sqlite",
        "short-metrics-token",
    ],
)
def test_production_refuses_each_unsafe_setting_by_name(
    production: pytest.MonkeyPatch, spoiled: dict[str, str | None], says: str
) -> None:
    for name, value in spoiled.items():
        if value is None:
            production.delenv(name)
        else:
            production.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("invalid settings: ") and says in message  # this one, alone
    for secret in ("s3cret", "Zq8v", "Rk7x", "Sk9w", "Wh3y", "m" * 31):
        assert secret not in message


def test_production_names_every_problem_at_once_and_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOCALIS_ENV", "production")
    monkeypatch.setenv("VOCALIS_KEY_PEPPER", "tiny-pepper")
    monkeypatch.setenv("VOCALIS_PUBLIC_URL", "http://tts.example.com")
    monkeypatch.setenv("VOCALIS_STRIPE_SECRET_KEY", "sk_live_half_of_the_billing_setup")
    monkeypatch.setenv("VOCALIS_METRICS_TOKEN", "short-metrics-token")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("invalid settings (6 problems):\n")
    for says in (
        "VOCALIS_KEY_PEPPER must be at least 32 bytes",
        "VOCALIS_PUBLIC_URL must be the https:// address",
        "set VOCALIS_STRIPE_SECRET_KEY and VOCALIS_STRIPE_WEBHOOK_SECRET together",
        "VOCALIS_METRICS_TOKEN must be at least 32 bytes",
        "VOCALIS_RESEND_API_KEY is not set",
        "VOCALIS_DATABASE_URL is SQLite",
    ):
        assert f"\n  - {says}" in message
    for secret in ("tiny-pepper", "half_of_the_billing", "short-metrics-token"):
        assert secret not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_production_allows_what_the_operator_chose_explicitly(
    production: pytest.MonkeyPatch,
) -> None:
    """Closed sign-up needs no mail service; SQLite is allowed when asked for by name."""
    production.delenv("VOCALIS_RESEND_API_KEY")
    production.setenv("VOCALIS_SIGNUP", "closed")
    production.setenv("VOCALIS_DATABASE_URL", "sqlite+aiosqlite:////srv/vocalis/vocalis.db")
    production.setenv("VOCALIS_ALLOW_SQLITE_IN_PRODUCTION", "true")
    production.delenv("VOCALIS_METRICS_TOKEN")
    production.delenv("VOCALIS_STRIPE_SECRET_KEY")
    production.delenv("VOCALIS_STRIPE_WEBHOOK_SECRET")
    settings = load_settings()
    assert (settings.signup, settings.resend_api_key, settings.billing_enabled) == (
        "closed", None, False,
    )  # fmt: skip


def test_development_needs_none_of_production_s_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOCALIS_RESEND_API_KEY", "re_development_key")  # default sender: fine
    monkeypatch.setenv("VOCALIS_METRICS_TOKEN", "short")
    settings = load_settings()
    assert settings.problems() == [] and settings.public_url is None


def test_stripe_half_configured_is_refused_in_development_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOCALIS_STRIPE_SECRET_KEY", "sk_test_only_the_key")
    with pytest.raises(ConfigError, match="VOCALIS_STRIPE_WEBHOOK_SECRET together"):
        load_settings()


def test_unchecked_loading_lists_the_problems_instead_of_refusing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `vocalis doctor` uses to show the whole configuration and every problem in it."""
    monkeypatch.setenv("VOCALIS_ENV", "production")
    settings = load_settings(check=False)
    assert settings.env == "production"
    assert [problem.split(" ")[0] for problem in settings.problems()] == [
        "VOCALIS_KEY_PEPPER",
        "VOCALIS_PUBLIC_URL",
        "VOCALIS_RESEND_API_KEY",
        "VOCALIS_DATABASE_URL",
    ]
    monkeypatch.setenv("VOCALIS_PORT", "eighty")  # wrong in itself: refused all the same
    with pytest.raises(ConfigError, match="port"):
        load_settings(check=False)


def test_development_accepts_any_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCALIS_KEY_PEPPER", "short")
    assert load_settings().env == "development"


@pytest.mark.parametrize(
    ("problem", "says"),
    [
        ({"VOCALIS_ENV": "production"}, "VOCALIS_KEY_PEPPER"),  # pydantic quotes every value
        ({"VOCALIS_ENV": "production", "VOCALIS_KEY_PEPPER": "tiny-pepper"}, "VOCALIS_KEY_PEPPER"),
        ({"VOCALIS_PORT": "eighty"}, "port"),
        ({"VOCALIS_TRUSTED_PROXIES": "not-a-network"}, "trusted_proxies"),
    ],
    ids=["dev-pepper", "short-pepper", "bad-port", "bad-proxy"],
)
def test_configuration_errors_never_show_passwords_or_secrets(
    monkeypatch: pytest.MonkeyPatch, problem: dict[str, str], says: str
) -> None:
    monkeypatch.setenv("VOCALIS_DATABASE_URL", "postgresql+asyncpg://user:s3cret@db/vocalis")
    monkeypatch.setenv("VOCALIS_RATE_LIMIT_STORAGE", "redis://:hunter2@cache:6379")
    for name, value in problem.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert "s3cret" not in message and "hunter2" not in message and "tiny-pepper" not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__  # nor a traceback
    assert says in message  # it still says what is wrong


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not a url", "is not a database URL"),
        ("postgresql+asyncpg://vocalis:s3cret-pw@db:fivefour/tts", "is not a database URL"),
        ("mysql+aiomysql://vocalis:s3cret-pw@db/tts", "names a mysql database"),
    ],
)
def test_a_database_url_vocalis_cannot_use_is_refused_without_quoting_it(
    url: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=f"VOCALIS_DATABASE_URL {said}") as error:
        load_settings(database_url=url)
    assert "s3cret-pw" not in str(error.value)
