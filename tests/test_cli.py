"""The `vocalis` command line, as an operator uses it."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vocalis.accounts.keys import is_well_formed
from vocalis.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "VOCALIS_DEV_KEY_FILE": str(tmp_path / "dev-api-key"),
        "VOCALIS_KEY_PEPPER": "cli-test-pepper",
    }


def _ok(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_operator_flow_migrate_account_key_list_revoke(env: dict[str, str]) -> None:
    _, migrated = _ok(["db", "upgrade"], env)
    assert "database at revision" in migrated

    account_id, _ = _ok(["accounts", "create", "--email", "Ops@Example.com"], env)
    assert account_id.strip().startswith("acc_")

    out, info = _ok(
        ["keys", "create", "--account", "ops@example.com", "--name", "ci", "--scopes", "tts,jobs"],
        env,
    )
    key = out.strip().splitlines()[-1]
    assert is_well_formed(key)
    assert "not shown again" in info

    listing, _ = _ok(["keys", "list", "--account", "ops@example.com"], env)
    (row,) = listing.strip().splitlines()
    key_id, prefix, name, scopes, state = row.split("\t")
    assert (prefix, name, scopes, state) == (key[:12] + "…", "ci", "jobs,tts", "active")
    assert key not in listing

    _ok(["keys", "revoke", key_id], env)
    listing, _ = _ok(["keys", "list", "--account", "ops@example.com"], env)
    assert listing.strip().endswith("revoked")


def test_mistakes_are_reported_without_a_traceback(env: dict[str, str]) -> None:
    _ok(["db", "upgrade"], env)
    _ok(["accounts", "create", "--email", "a@example.com"], env)
    for args in (
        ["accounts", "create", "--email", "a@example.com"],
        ["accounts", "create", "--email", "not-an-email"],
        ["keys", "create", "--account", "nobody@example.com"],
        ["keys", "create", "--account", "a@example.com", "--scopes", "tts,superuser"],
        ["keys", "revoke", "key_doesnotexist"],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.output


def test_bad_configuration_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "db", "upgrade"], env=env)
    assert result.exit_code == 2
    assert "configuration file not found" in result.stderr


def test_dev_key_is_created_once_and_printed_every_time(env: dict[str, str]) -> None:
    _ok(["db", "upgrade"], env)
    first, _ = _ok(["dev-key"], env)
    again, _ = _ok(["dev-key"], env)
    key = first.strip().splitlines()[-1]
    assert is_well_formed(key)
    assert again.strip().splitlines()[-1] == key
    assert oct(Path(env["VOCALIS_DEV_KEY_FILE"]).stat().st_mode & 0o777) == "0o600"

    listing, _ = _ok(["keys", "list", "--account", "dev@example.com"], env)
    (key_id, *_rest) = listing.strip().split("\t")
    _ok(["keys", "revoke", key_id], env)
    replaced, _ = _ok(["dev-key"], env)  # a revoked dev key is replaced, not reprinted
    assert replaced.strip() != key and is_well_formed(replaced.strip())


def test_voices_list_shows_the_default_voice(env: dict[str, str]) -> None:
    out, _ = _ok(["voices", "list"], env)
    assert out.startswith("* en_US-joe-medium\ten_US\tmale\t22050 Hz\tpiper")
