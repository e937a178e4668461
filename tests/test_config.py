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
    monkeypatch.setenv("VOCALIS_KEY_PEPPER", "a-real-secret-from-the-operator")
    assert load_settings().env == "production"
