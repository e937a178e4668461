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


def test_production_refuses_the_development_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCALIS_ENV", "production")
    with pytest.raises(ConfigError, match="VOCALIS_KEY_PEPPER"):
        load_settings()
    monkeypatch.setenv("VOCALIS_KEY_PEPPER", "a-real-secret-from-the-operator-of-this-server")
    assert load_settings().env == "production"


@pytest.mark.parametrize(
    "pepper", ["", "8chars!!", "x" * 31, "é" * 15], ids=["empty", "8", "31", "30-as-15-chars"]
)
def test_production_refuses_a_short_pepper_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, pepper: str
) -> None:
    monkeypatch.setenv("VOCALIS_ENV", "production")
    monkeypatch.setenv("VOCALIS_KEY_PEPPER", pepper)
    with pytest.raises(ConfigError, match="VOCALIS_KEY_PEPPER must be at least 32 bytes") as error:
        load_settings()
    assert not pepper or pepper not in str(error.value)
    monkeypatch.setenv("VOCALIS_KEY_PEPPER", "é" * 16)  # bytes, not characters, are counted
    assert load_settings().key_pepper.get_secret_value() == "é" * 16


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
